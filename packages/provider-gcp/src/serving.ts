import { ModelportError } from '@modelport/core';
import type { ModelArtifact } from './artifact.js';
import type { GcpSettings } from './settings.js';
import type { ModelProperties } from './vertex-model.js';

/** Repository and tag of the portable serving image in the project's Artifact Registry. */
export const SERVING_IMAGE_REPOSITORY = 'modelport';
export const SERVING_IMAGE = 'modelport-serving:0.1.0';
/** Port and routes the portable serving image serves (it reads AIP_HTTP_PORT, AIP_HEALTH_ROUTE, AIP_PREDICT_ROUTE). */
export const SERVING_PORT = 8080;
export const PREDICT_ROUTE = '/predict';
export const HEALTH_ROUTE = '/health';

/** Vertex prebuilt prediction images by framework (CPU; GPU variants where Vertex has them). */
const PREBUILT: Record<string, { cpu: string; gpu?: string }> = {
  sklearn: { cpu: 'sklearn-cpu.1-5' },
  xgboost: { cpu: 'xgboost-cpu.2-1' },
  tensorflow: { cpu: 'tf2-cpu.2-15', gpu: 'tf2-gpu.2-15' },
  pytorch: { cpu: 'pytorch-cpu.2-4', gpu: 'pytorch-gpu.2-4' },
};

/** The multi-region of Vertex's prebuilt images nearest a location (us, europe, asia). */
function prebuiltRegistry(location: string): string {
  if (location.startsWith('europe') || location.startsWith('me-') || location.startsWith('africa'))
    return 'europe-docker.pkg.dev';
  if (location.startsWith('asia') || location.startsWith('australia')) return 'asia-docker.pkg.dev';
  return 'us-docker.pkg.dev';
}

/**
 * The container of a Vertex model: spec.model.image as given; for ONNX, the portable modelport serving image
 * in the project's Artifact Registry (pushed once with `modelport package --format oci` + `modelport image
 * push`); for sklearn, xgboost, tensorflow and pytorch, Vertex's prebuilt prediction image, which brings its
 * own routes. modelport's image is told the model file, the deployment's name and the limits.
 */
export function modelContainer(
  format: string,
  image: string | undefined,
  artifact: ModelArtifact,
  settings: GcpSettings,
  environment: Record<string, string>,
  gpu: boolean,
): ModelProperties {
  const artifactUri = artifact.artifactUri === undefined ? {} : { artifactUri: artifact.artifactUri };
  const prebuilt = PREBUILT[format];
  if (image === undefined && prebuilt !== undefined) {
    if (artifact.artifactUri === undefined) {
      throw new ModelportError(
        'invalidInput',
        `a ${format} model needs spec.model.uri (its saved model folder)`,
      );
    }
    const tag = gpu && prebuilt.gpu !== undefined ? prebuilt.gpu : prebuilt.cpu;
    return {
      image: `${prebuiltRegistry(settings.location)}/vertex-ai/prediction/${tag}:latest`,
      ...artifactUri,
      env: {},
    };
  }
  if (image === undefined && format !== 'onnx') {
    throw new ModelportError('invalidInput', `Vertex AI needs a serving image for format "${format}"`, {
      hint: 'set spec.model.image to a container that serves the Vertex AI prediction routes',
    });
  }
  return {
    image:
      image ??
      `${settings.location}-docker.pkg.dev/${settings.project}/${SERVING_IMAGE_REPOSITORY}/${SERVING_IMAGE}`,
    ...artifactUri,
    predictRoute: PREDICT_ROUTE,
    healthRoute: HEALTH_ROUTE,
    port: SERVING_PORT,
    env: {
      // Vertex copies artifactUri for the container and names it in AIP_STORAGE_URI; the file is this one.
      ...(artifact.modelFile === undefined ? {} : { MODELPORT_MODEL: artifact.modelFile }),
      MODELPORT_MODEL_NAME: settings.name,
      ...environment,
    },
  };
}
