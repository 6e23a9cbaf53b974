export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

/**
 * Docker Image Manifest V2, Schema 2 (distribution/distribution docs/spec/manifest-v2-2.md): what SageMaker
 * CreateModel needs. It refuses OCI manifests and indexes ("Unsupported manifest media type
 * application/vnd.oci.image.manifest.v1+json", aws/amazon-sagemaker-feedback#180, mlflow/mlflow#13834,
 * moby/buildkit#5480).
 */
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

/** The annotation that names an image in an OCI layout's index.json (what `dir:<tag>` refers to). */
export const REF_NAME = 'org.opencontainers.image.ref.name';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: typeof OCI_MANIFEST;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType: typeof OCI_INDEX;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** A Docker V2 Schema 2 image manifest (no annotations: the schema has none). */
export interface DockerManifest {
  schemaVersion: 2;
  mediaType: typeof DOCKER_MANIFEST;
  config: Descriptor;
  layers: Descriptor[];
}

/** A Docker manifest list (the fat manifest): every entry needs a platform. */
export interface DockerManifestList {
  schemaVersion: 2;
  mediaType: typeof DOCKER_MANIFEST_LIST;
  manifests: (Descriptor & { platform: NonNullable<Descriptor['platform']> })[];
}

export interface ImageConfig {
  architecture: string;
  os: string;
  config: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[];
    WorkingDir?: string;
    ExposedPorts?: Record<string, Record<string, never>>;
    Labels?: Record<string, string>;
    StopSignal?: string;
    /** Folders each container writes to (image-spec config.md `Volumes`): runtimes give each its own. */
    Volumes?: Record<string, Record<string, never>>;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created_by?: string; comment?: string; empty_layer?: boolean }[];
}
