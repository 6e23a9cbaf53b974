export { edgeModule } from './module.js';
export { EdgeBundlePackager } from './edge-packager.js';
export {
  packageEdge,
  planPackage,
  bundleVersion,
  modelFilesOf,
  asEdgePackage,
  EDGE_FORMATS,
  type EdgeFormat,
  type PackageOptions,
  type PackagePlan,
} from './packager.js';
export { PLATFORMS, platformInfo, hostPlatform, type Platform, type PlatformInfo } from './platform.js';
export { defaultCacheDir } from './cache-dir.js';
export {
  generateSigningKeys,
  readPrivateKey,
  readPublicKey,
  publicKeyPem,
  keyId,
  type GeneratedKeys,
} from './signing/keys.js';
export { verifyBundle, type BundleVerification } from './verify.js';
export { extractBundle } from './archive/safe-extract.js';
export { collectModelFiles, type ModelFiles } from './model/model-files.js';
export {
  BUNDLE_MANIFEST,
  BUNDLE_SIGNATURE,
  BUNDLE_PUBLIC_KEY,
  type BundleManifest,
  type BundleFile,
  type BundleSignature,
} from './app/bundle-format.js';
export type { VerifyReport } from './app/verify-bundle.js';
export {
  pushImages,
  parseImageReference,
  type PushOptions,
  type PushResult,
  type ImageReference,
} from './oci/registry-push.js';
export { registryAuthPresets, type RegistryAuth, type Secret } from './oci/registry-auth.js';
export { readImageLayout, type WrittenImage } from './oci/image-layout.js';
export {
  defaultManifestFormat,
  describeMediaType,
  isEcrRegistry,
  MANIFEST_FORMATS,
  pushedMediaType,
  type ManifestFormat,
} from './oci/manifest-format.js';
export { readImageManifestInfo, type ImageManifestInfo } from './oci/manifest-info.js';
export {
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
} from './oci/media-types.js';
export { buildServingImage, servingImageConfig, IMAGE_BUNDLE_DIR, IMAGE_PORT } from './oci/serving-image.js';
export {
  checkGreengrassArtifacts,
  type GreengrassRecipe,
  type GreengrassSettings,
} from './targets/greengrass.js';
export { iotEdgeDeployment, type IotEdgeSettings } from './targets/iot-edge.js';
export { writeServingImageFolder, type ImageFolderOptions } from './image-folder.js';
