// Images as the tests "push" them to the emulated ECR.
import type { ContainerImage } from '../shared/containers.js';
import { ImageRegistry, testServingImage } from '../shared/containers.js';

/** The manifest media type `modelport image push` uses for ECR (Docker V2 Schema 2; SageMaker refuses OCI). */
export const DOCKER_MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';

/** The image as pushed to ECR with a Docker V2 Schema 2 manifest. */
export function pushedToEcr(image: ContainerImage): ContainerImage {
  return { ...image, manifestMediaType: DOCKER_MANIFEST_V2 };
}

/** A registry holding the test serving image (with its decoy model) under each reference, as pushed to ECR. */
export async function servingImageRegistry(references: readonly string[]): Promise<ImageRegistry> {
  const image = pushedToEcr(await testServingImage());
  const registry = new ImageRegistry();
  for (const reference of references) registry.push(reference, image);
  return registry;
}
