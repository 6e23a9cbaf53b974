import type { EndpointManifest, LoadedManifest } from '@modelport/core';
import { MANAGED_BY, ModelportError, TAGS, isEndpoint, specHash } from '@modelport/core';
import { settingsOf } from './settings.js';

export const ISVC_TYPE = 'kserve:InferenceService';
export const API_VERSION = 'serving.kserve.io/v1beta1';
/** Where KServe's storage initializer puts the model for a custom container. */
const MODEL_DIR = '/mnt/models';
const SERVING_PORT = 8080;

/** The neutral accelerator names → the device plugin resource and a GKE-style node selector value. */
const GPU_RESOURCE = 'nvidia.com/gpu';

export interface InferenceService {
  apiVersion: typeof API_VERSION;
  kind: 'InferenceService';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: Record<string, unknown>;
}

/**
 * The properties the planner compares: the InferenceService spec and the labels/annotations the user
 * controls (modelport's own labels are added on write). What `observe` reads back has the same shape.
 */
export function desiredProperties(loaded: LoadedManifest): Record<string, unknown> {
  const manifest = endpointOf(loaded);
  const settings = settingsOf(manifest);
  return {
    spec: renderSpec(manifest),
    labels: { ...definedOnly(manifest.metadata.labels), ...definedOnly(settings.labels) },
    annotations: annotationsOf(manifest),
  };
}

/**
 * The exact InferenceService `apply` writes, spec-hash label included: `modelport plan --output yaml`
 * prints this for GitOps users.
 */
export function renderInferenceService(loaded: LoadedManifest): InferenceService {
  const properties = desiredProperties(loaded);
  return toResource(endpointOf(loaded), properties, specHash(properties));
}

/** The object for a create or replace, from the planned properties and hash. */
export function toResource(
  manifest: EndpointManifest,
  properties: Record<string, unknown>,
  hash: string,
): InferenceService {
  const settings = settingsOf(manifest);
  const annotations = properties['annotations'] as Record<string, string>;
  return {
    apiVersion: API_VERSION,
    kind: 'InferenceService',
    metadata: {
      name: manifest.metadata.name,
      namespace: settings.namespace,
      labels: {
        ...(properties['labels'] as Record<string, string>),
        [TAGS.managedBy]: MANAGED_BY,
        [TAGS.name]: manifest.metadata.name,
        [TAGS.kind]: manifest.kind,
        [TAGS.specHash]: hash,
      },
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: properties['spec'] as Record<string, unknown>,
  };
}

function endpointOf(loaded: LoadedManifest): EndpointManifest {
  if (!isEndpoint(loaded)) {
    throw new ModelportError('capability', `KServe serves Endpoint manifests, not ${loaded.manifest.kind}`);
  }
  return loaded.manifest;
}

function annotationsOf(manifest: EndpointManifest): Record<string, string> {
  const settings = settingsOf(manifest);
  // Scale to zero needs KServe's serverless (Knative) mode; say so explicitly rather than rely on the
  // cluster default, which may be RawDeployment.
  const mode =
    manifest.spec.scaling?.scaleToZero === true ? { 'serving.kserve.io/deploymentMode': 'Serverless' } : {};
  return { ...definedOnly(settings.annotations), ...mode };
}

function renderSpec(manifest: EndpointManifest): Record<string, unknown> {
  return { predictor: renderPredictor(manifest) };
}

function renderPredictor(manifest: EndpointManifest): Record<string, unknown> {
  const { spec } = manifest;
  const settings = settingsOf(manifest);
  const resources = renderResources(manifest);
  const predictor: Record<string, unknown> = {
    ...renderScaling(manifest),
    ...(settings.serviceAccountName === undefined ? {} : { serviceAccountName: settings.serviceAccountName }),
    ...(spec.limits?.timeoutSeconds === undefined ? {} : { timeout: spec.limits.timeoutSeconds }),
    ...(spec.compute?.instanceType === undefined
      ? {}
      : { nodeSelector: { 'node.kubernetes.io/instance-type': spec.compute.instanceType } }),
  };
  const canary = canaryPercent(manifest);
  if (canary !== undefined) predictor['canaryTrafficPercent'] = canary;

  const image = spec.model.image;
  if (settings.runtime !== undefined || image === undefined) {
    if (spec.model.format !== 'onnx') {
      throw new ModelportError('capability', `format ${spec.model.format} needs spec.model.image on KServe`, {
        hint: 'set spec.model.image to the serving image',
      });
    }
    // A KServe ServingRuntime (named, or the cluster's default for ONNX) loads the model itself.
    predictor['model'] = {
      modelFormat: { name: 'onnx' },
      ...(settings.runtime === undefined ? {} : { runtime: settings.runtime }),
      ...(spec.model.uri === undefined ? {} : { storageUri: spec.model.uri }),
      ...(resources === undefined ? {} : { resources }),
    };
    return predictor;
  }
  predictor['containers'] = [renderContainer(manifest, image, resources)];
  return predictor;
}

/** The modelport serving image (or the user's own) as KServe's custom predictor container. */
function renderContainer(
  manifest: EndpointManifest,
  image: string,
  resources: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const { spec } = manifest;
  const env: { name: string; value: string }[] = [];
  const container: Record<string, unknown> = {
    name: 'kserve-container',
    image,
    ports: [{ containerPort: SERVING_PORT, protocol: 'TCP' }],
  };
  if (spec.model.format === 'onnx') {
    if (spec.model.uri === undefined) {
      throw new ModelportError('invalidInput', 'spec.model.uri is required for format onnx on KServe');
    }
    // STORAGE_URI on the kserve-container makes KServe run its storage initializer for a custom container
    // (CustomPredictor.GetStorageUri): the object, or a prefix's objects, land in /mnt/models; a pvc:// URI
    // is mounted there as a sub-path (which must be a folder). The image takes a folder and serves the one
    // .onnx in it (with signature.json beside it), so the folder is passed whatever the URI names.
    env.push({ name: 'STORAGE_URI', value: spec.model.uri });
    // The port through the image's variable, not --port: it must be the containerPort above.
    env.push({ name: 'MODELPORT_PORT', value: String(SERVING_PORT) });
    container['args'] = [
      '--model',
      MODEL_DIR,
      '--name',
      manifest.metadata.name,
      ...(spec.limits?.payloadMB === undefined ? [] : ['--max-payload-mb', String(spec.limits.payloadMB)]),
      ...(spec.limits?.timeoutSeconds === undefined
        ? []
        : ['--timeout-s', String(spec.limits.timeoutSeconds)]),
    ];
    // Ready once the model is loaded and served under the name invoke uses (the image answers 503 while
    // it loads); KServe's default probe is only a TCP check of the port.
    container['readinessProbe'] = {
      httpGet: { path: `/v1/models/${manifest.metadata.name}`, port: SERVING_PORT },
    };
  } else if (spec.model.uri !== undefined) {
    env.push({ name: 'STORAGE_URI', value: spec.model.uri });
  }
  if (env.length > 0) container['env'] = env;
  if (resources !== undefined) container['resources'] = resources;
  return container;
}

function renderResources(manifest: EndpointManifest): Record<string, unknown> | undefined {
  const compute = manifest.spec.compute;
  if (compute === undefined) return undefined;
  const amounts: Record<string, string> = {};
  if (compute.cpu !== undefined) amounts['cpu'] = String(compute.cpu);
  if (compute.memoryGiB !== undefined) amounts['memory'] = `${compute.memoryGiB}Gi`;
  const gpus: Record<string, string> =
    compute.accelerator === undefined ? {} : { [GPU_RESOURCE]: String(compute.accelerator.count ?? 1) };
  if (Object.keys(amounts).length === 0 && Object.keys(gpus).length === 0) return undefined;
  // Requests equal limits (Guaranteed QoS), GPUs in limits only as the device plugin requires.
  return {
    ...(Object.keys(amounts).length === 0 ? {} : { requests: amounts }),
    limits: { ...amounts, ...gpus },
  };
}

const METRICS: Record<string, string | undefined> = {
  requestsPerReplica: 'rps',
  concurrency: 'concurrency',
  cpuUtilization: 'cpu',
};

function renderScaling(manifest: EndpointManifest): Record<string, unknown> {
  const scaling = manifest.spec.scaling;
  if (scaling === undefined) return {};
  const out: Record<string, unknown> = {};
  const min = scaling.scaleToZero === true ? 0 : scaling.minReplicas;
  if (min !== undefined) out['minReplicas'] = min;
  if (scaling.maxReplicas !== undefined) out['maxReplicas'] = scaling.maxReplicas;
  if (scaling.metric !== undefined) {
    const metric = METRICS[scaling.metric];
    if (metric === undefined) {
      throw new ModelportError('capability', `KServe cannot scale on ${scaling.metric}`, {
        hint: `use one of: ${Object.keys(METRICS).join(', ')}`,
        details: { path: 'spec.scaling.metric' },
      });
    }
    out['scaleMetric'] = metric;
  }
  if (scaling.target !== undefined) out['scaleTarget'] = Math.round(scaling.target);
  return out;
}

function canaryPercent(manifest: EndpointManifest): number | undefined {
  const traffic = manifest.spec.traffic;
  if (traffic?.strategy !== 'canary') return undefined;
  // KServe routes this share to the latest revision and the rest to the previous ready one.
  return traffic.canaryPercent ?? 10;
}

function definedOnly(map: Record<string, string | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(map ?? {})) if (value !== undefined) out[key] = value;
  return out;
}
