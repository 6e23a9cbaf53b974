import type { DesiredResource, LoadedEndpoint, LoadedManifest } from '@modelport/core';
import { ModelportError, endpointMode, resourceKey } from '@modelport/core';
import { artifactResource, modelArtifact } from './artifact.js';
import type { DeployedModelProperties } from './deployment.js';
import { deployedModelResource, trafficResource } from './deployment.js';
import { endpointResource } from './endpoint.js';
import { pickMachineType, VERTEX_ACCELERATORS } from './machine-types.js';
import { warnIgnored, warnIgnoredFields } from './notes.js';
import { modelContainer } from './serving.js';
import type { GcpSettings } from './settings.js';
import { modelResource } from './vertex-model.js';

const MIB = 1024 * 1024;
/** Online prediction request limits (bytes): shared public endpoints, and dedicated ones. */
export const SHARED_LIMIT_BYTES = 1.5 * MIB;
export const DEDICATED_LIMIT_BYTES = 10 * MIB;
const DEFAULT_TIMEOUT_S = 60;
/** Longest request on a shared public endpoint (dedicated endpoints: up to an hour). */
const SHARED_TIMEOUT_S = 60;

/** Vertex autoscaling metrics for the neutral ones it has (cpu and GPU duty cycle in percent, requests per replica). */
export const AUTOSCALING_METRICS: Readonly<Record<string, string>> = {
  cpuUtilization: 'aiplatform.googleapis.com/prediction/online/cpu/utilization',
  gpuUtilization: 'aiplatform.googleapis.com/prediction/online/accelerator/duty_cycle',
  requestsPerReplica: 'aiplatform.googleapis.com/prediction/online/request_count',
};

export function predictLimitBytes(settings: GcpSettings): number {
  return settings.dedicatedEndpoint ? DEDICATED_LIMIT_BYTES : SHARED_LIMIT_BYTES;
}

/**
 * What an Endpoint manifest needs on Vertex AI, in dependency order: the uploaded artifact (for a local
 * model), the model, the endpoint, the deployed model and the traffic split. Async endpoints (emulated by a
 * batch prediction job per request) need only the model. Limits Vertex would refuse are refused here.
 */
export async function endpointResources(
  manifest: LoadedEndpoint,
  settings: GcpSettings,
): Promise<DesiredResource[]> {
  const spec = manifest.manifest.spec;
  const mode = endpointMode(manifest.manifest);
  if (mode === 'serverless') {
    throw new ModelportError('capability', 'Vertex AI has no serverless prediction endpoints', {
      hint: 'use mode realtime with scaling.minReplicas 1, or another provider',
    });
  }
  const limit = predictLimitBytes(settings);
  if (mode === 'realtime' && spec.limits?.payloadMB !== undefined && spec.limits.payloadMB * MIB > limit) {
    throw new ModelportError(
      'capability',
      `spec.limits.payloadMB ${spec.limits.payloadMB} is above what this Vertex AI endpoint accepts (${limit / MIB} MB)`,
      {
        hint: settings.dedicatedEndpoint
          ? 'lower spec.limits.payloadMB to 10 or less'
          : 'lower it to 1.5, or set spec.extensions.gcp.dedicatedEndpoint: true (10 MB)',
      },
    );
  }
  if (mode === 'async') {
    warnIgnoredFields(manifest, ['spec', 'async'], spec.async, {
      queueTtlSeconds: 'batch prediction jobs start at once and have no queue time-to-live',
      maxRetries: 'batch prediction jobs are not retried per request',
    });
  }
  const timeout = spec.limits?.timeoutSeconds;
  if (
    mode === 'realtime' &&
    !settings.dedicatedEndpoint &&
    timeout !== undefined &&
    timeout > SHARED_TIMEOUT_S
  ) {
    warnIgnored(
      manifest,
      ['spec', 'limits', 'timeoutSeconds'],
      `Vertex AI ends requests to a shared endpoint after ${SHARED_TIMEOUT_S} s: timeoutSeconds ${timeout} applies to the container only`,
      'set spec.extensions.gcp.dedicatedEndpoint: true for requests of up to an hour, or lower timeoutSeconds',
    );
  }
  const artifact = await modelArtifact(manifest, settings);
  const artifactRes = artifactResource(artifact);
  const machine = machineOf(manifest);
  const environment: Record<string, string> = {
    MODELPORT_MAX_PAYLOAD_MB: String(
      mode === 'async' ? (spec.async?.maxPayloadMB ?? 1024) : (spec.limits?.payloadMB ?? limit / MIB),
    ),
    MODELPORT_TIMEOUT_S: String(
      mode === 'async'
        ? (spec.async?.timeoutSeconds ?? 900)
        : (spec.limits?.timeoutSeconds ?? DEFAULT_TIMEOUT_S),
    ),
  };
  const model = modelResource(
    settings,
    modelContainer(
      spec.model.format,
      spec.model.image,
      artifact,
      settings,
      environment,
      machine.accelerator !== undefined,
    ),
    artifactRes === undefined ? undefined : resourceKey(artifactRes),
  );
  const resources = [...(artifactRes === undefined ? [] : [artifactRes]), model];
  if (mode === 'async') return resources;
  const deployed = deployedModelResource(settings, {
    model: model.name,
    ...machine,
    ...replicas(manifest),
    ...(settings.serviceAccount === undefined ? {} : { serviceAccount: settings.serviceAccount }),
  });
  return [...resources, endpointResource(settings), deployed, trafficResource(settings, deployed.name)];
}

/** Machine type and accelerators from spec.compute (or its instanceType, used as is). */
export function machineOf(
  manifest: LoadedManifest,
): Pick<DeployedModelProperties, 'machineType' | 'accelerator'> {
  const compute =
    (manifest.manifest.spec as { compute?: LoadedEndpoint['manifest']['spec']['compute'] }).compute ?? {};
  const wanted = compute.accelerator;
  const accelerator =
    wanted === undefined ? undefined : { type: VERTEX_ACCELERATORS[wanted.type], count: wanted.count ?? 1 };
  if (wanted !== undefined && accelerator?.type === undefined) {
    throw new ModelportError('capability', `Vertex AI has no accelerator "${wanted.type}"`, {
      hint: `use one of ${Object.keys(VERTEX_ACCELERATORS).join(', ')}`,
    });
  }
  if (compute.instanceType !== undefined) {
    return {
      machineType: compute.instanceType,
      ...(accelerator === undefined ? {} : { accelerator: accelerator as { type: string; count: number } }),
    };
  }
  const picked = pickMachineType({
    ...(compute.cpu === undefined ? {} : { cpu: compute.cpu }),
    ...(compute.memoryGiB === undefined ? {} : { memoryGiB: compute.memoryGiB }),
    ...(wanted === undefined ? {} : { accelerator: wanted }),
  });
  if (picked === undefined) {
    throw new ModelportError('capability', 'no Vertex AI machine type has the compute asked for', {
      hint: 'lower spec.compute (cpu, memoryGiB, accelerator count) or name one with spec.compute.instanceType',
    });
  }
  return {
    machineType: picked.name,
    ...(picked.accelerator === undefined
      ? {}
      : { accelerator: { type: picked.vertexAccelerator as string, count: picked.accelerator.count } }),
  };
}

/** Replicas and autoscaling metric targets from spec.scaling (Vertex scales between min and max itself). */
function replicas(
  manifest: LoadedEndpoint,
): Pick<DeployedModelProperties, 'minReplicas' | 'maxReplicas' | 'autoscaling'> {
  const scaling = manifest.manifest.spec.scaling ?? {};
  if (scaling.scaleToZero === true || scaling.minReplicas === 0) {
    throw new ModelportError('capability', 'Vertex AI dedicated endpoints keep at least one replica', {
      hint: 'set spec.scaling.minReplicas to 1 or more and remove scaleToZero',
    });
  }
  const min = scaling.minReplicas ?? 1;
  const max = Math.max(min, scaling.maxReplicas ?? min);
  if (scaling.metric === undefined) return { minReplicas: min, maxReplicas: max, autoscaling: [] };
  const metric = AUTOSCALING_METRICS[scaling.metric];
  if (metric === undefined) {
    throw new ModelportError('capability', `Vertex AI cannot autoscale on ${scaling.metric}`, {
      hint: `use one of ${Object.keys(AUTOSCALING_METRICS).join(', ')}`,
    });
  }
  const target = Math.round(scaling.target ?? (scaling.metric === 'requestsPerReplica' ? 100 : 60));
  return { minReplicas: min, maxReplicas: max, autoscaling: [{ metric, target }] };
}
