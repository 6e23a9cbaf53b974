import type { DeploymentConfig } from '@aws-sdk/client-sagemaker';
import type { DesiredResource, LoadedEndpoint } from '@modelport/core';
import { ModelportError, endpointMode, resourceKey, uriScheme } from '@modelport/core';
import { artifactResource, modelData } from './artifact.js';
import { alarmResources } from './alarm.js';
import type { ScalingIntent } from './autoscaling.js';
import { scalingResources } from './autoscaling.js';
import type {
  AsyncOutputProperties,
  EndpointConfigProperties,
  VariantProperties,
} from './endpoint-config.js';
import { VARIANT, endpointConfigResource } from './endpoint-config.js';
import { endpointResource } from './endpoint.js';
import { pickInstanceType } from './instance-catalog.js';
import { modelResource, servingImage } from './sagemaker-model.js';
import type { AwsSettings } from './settings.js';
import { s3Uri } from './settings.js';

const DEFAULT_TIMEOUT_S = 60;
const DEFAULT_SERVERLESS_MB = 2048;
const DEFAULT_SERVERLESS_CONCURRENCY = 20;
/** Target per instance when scaling is asked for without a metric: invocations per instance per minute. */
const DEFAULT_INVOCATIONS_TARGET = 100;
const DEFAULT_BACKLOG_TARGET = 5;

/**
 * What an Endpoint manifest needs on AWS, in dependency order: the uploaded artifact (for a local model),
 * the SageMaker model, the endpoint config, the endpoint, and the autoscaling target and policies. Limits
 * SageMaker would refuse are refused here, before any call.
 */
export async function endpointResources(
  manifest: LoadedEndpoint,
  settings: AwsSettings,
): Promise<DesiredResource[]> {
  const spec = manifest.manifest.spec;
  const mode = endpointMode(manifest.manifest);
  const data = await modelData(manifest, settings);
  const artifact = artifactResource(data);
  const asyncSpec = spec.async ?? {};
  const environment: Record<string, string> = {
    MODELPORT_MAX_PAYLOAD_MB: String(
      mode === 'async'
        ? (asyncSpec.maxPayloadMB ?? 1024)
        : (spec.limits?.payloadMB ?? (mode === 'serverless' ? 4 : 6)),
    ),
    MODELPORT_TIMEOUT_S: String(
      mode === 'async'
        ? (asyncSpec.timeoutSeconds ?? 900)
        : (spec.limits?.timeoutSeconds ?? DEFAULT_TIMEOUT_S),
    ),
  };
  const model = modelResource(
    settings,
    servingImage(spec.model.image, spec.model.format, settings),
    data,
    environment,
    artifact === undefined ? undefined : resourceKey(artifact),
  );
  const config = endpointConfigResource(settings, {
    variants: [variant(manifest, model.name)],
    ...(mode === 'async' ? { async: asyncOutput(manifest, settings) } : {}),
  } satisfies EndpointConfigProperties);
  const resources = [
    ...(artifact === undefined ? [] : [artifact]),
    model,
    config,
    endpointResource(settings, config.name),
  ];
  const intent = scalingIntent(manifest);
  if (intent !== undefined) {
    resources.push(...scalingResources(settings, intent), ...alarmResources(settings, intent));
  }
  return resources;
}

function variant(manifest: LoadedEndpoint, modelName: string): VariantProperties {
  const spec = manifest.manifest.spec;
  const mode = endpointMode(manifest.manifest);
  if (mode === 'serverless') {
    const memoryGiB = spec.compute?.memoryGiB;
    const memoryMB =
      memoryGiB === undefined ? DEFAULT_SERVERLESS_MB : Math.ceil((memoryGiB * 1024) / 1024) * 1024;
    if (memoryMB < 1024 || memoryMB > 6144) {
      throw new ModelportError(
        'invalidInput',
        `serverless endpoints take 1–6 GiB of memory, not ${memoryGiB} GiB`,
        {
          hint: 'set spec.compute.memoryGiB between 1 and 6 (it is rounded up to whole GiB)',
        },
      );
    }
    const maxConcurrency = spec.scaling?.maxReplicas ?? DEFAULT_SERVERLESS_CONCURRENCY;
    if (maxConcurrency < 1 || maxConcurrency > 200) {
      throw new ModelportError(
        'invalidInput',
        `serverless endpoints take a maximum concurrency of 1–200, not ${maxConcurrency}`,
        {
          hint: 'set spec.scaling.maxReplicas between 1 and 200 (each concurrent request is one serverless replica)',
        },
      );
    }
    const minReplicas = spec.scaling?.minReplicas ?? 0;
    if (minReplicas > maxConcurrency) {
      throw new ModelportError(
        'invalidInput',
        'provisioned concurrency (minReplicas) is above the maximum concurrency',
        {
          hint: 'set spec.scaling.minReplicas ≤ maxReplicas',
        },
      );
    }
    return {
      name: VARIANT,
      model: modelName,
      serverless: {
        memoryMB,
        maxConcurrency,
        ...(minReplicas > 0 && spec.scaling?.scaleToZero !== true
          ? { provisionedConcurrency: minReplicas }
          : {}),
      },
    };
  }
  return {
    name: VARIANT,
    model: modelName,
    instanceType: instanceTypeOf(manifest),
    // Instances start at minReplicas (at least one: an endpoint is created with capacity; async may then scale to 0).
    instanceCount: Math.max(1, spec.scaling?.minReplicas ?? 1),
  };
}

export function instanceTypeOf(
  manifest: { manifest: { spec: { compute?: LoadedEndpoint['manifest']['spec']['compute'] } } },
  forTransform = false,
): string {
  const compute = manifest.manifest.spec.compute ?? {};
  if (compute.instanceType !== undefined) return compute.instanceType;
  const picked = pickInstanceType(
    {
      ...(compute.cpu === undefined ? {} : { cpu: compute.cpu }),
      ...(compute.memoryGiB === undefined ? {} : { memoryGiB: compute.memoryGiB }),
      ...(compute.accelerator === undefined ? {} : { accelerator: compute.accelerator }),
    },
    forTransform,
  );
  if (picked === undefined) {
    throw new ModelportError('capability', 'no SageMaker instance type has the compute asked for', {
      hint: 'lower spec.compute (cpu, memoryGiB, accelerator count) or name one with spec.compute.instanceType',
    });
  }
  return picked.name;
}

function asyncOutput(manifest: LoadedEndpoint, settings: AwsSettings): AsyncOutputProperties {
  const location = manifest.manifest.spec.async?.outputLocation;
  if (location !== undefined && uriScheme(location) !== 's3') {
    throw new ModelportError('invalidInput', `async results on AWS go to S3, not ${location}`, {
      hint: 'set spec.async.outputLocation to an s3:// prefix, or leave it out for s3://<bucket>/<prefix>/<name>/async-output',
    });
  }
  const base = `${settings.prefix}/${settings.name}`;
  const output = (location ?? s3Uri(settings.bucket, `${base}/async-output`)).replace(/\/+$/, '');
  return {
    outputPath: output,
    failurePath:
      location === undefined ? s3Uri(settings.bucket, `${base}/async-failures`) : `${output}-failures`,
    ...(settings.snsSuccessTopic === undefined ? {} : { successTopic: settings.snsSuccessTopic }),
    ...(settings.snsErrorTopic === undefined ? {} : { errorTopic: settings.snsErrorTopic }),
    ...(settings.kmsKeyId === undefined ? {} : { kmsKeyId: settings.kmsKeyId }),
  };
}

/** Autoscaling is wanted when replicas may vary or a metric is named; serverless scales by itself. */
function scalingIntent(manifest: LoadedEndpoint): ScalingIntent | undefined {
  const mode = endpointMode(manifest.manifest);
  const scaling = manifest.manifest.spec.scaling;
  if (mode === 'serverless' || scaling === undefined) return undefined;
  const min = scaling.minReplicas ?? (scaling.scaleToZero === true ? 0 : 1);
  const max = scaling.maxReplicas ?? Math.max(min, 1);
  if (max <= min && scaling.metric === undefined) return undefined;
  const metric = scaling.metric ?? (mode === 'async' ? 'backlogPerReplica' : 'requestsPerReplica');
  return {
    min,
    max,
    metric,
    target:
      scaling.target ??
      (metric === 'backlogPerReplica' ? DEFAULT_BACKLOG_TARGET : DEFAULT_INVOCATIONS_TARGET),
    mode,
  };
}

/**
 * How UpdateEndpoint shifts traffic: blue/green all at once, canary or linear (SageMaker deployment
 * guardrails), rolled back automatically when one of the given CloudWatch alarms fires. Serverless and
 * async endpoints take SageMaker's default (the new fleet is brought up before traffic moves).
 */
export function deploymentConfig(
  manifest: LoadedEndpoint,
  settings: AwsSettings,
): DeploymentConfig | undefined {
  if (endpointMode(manifest.manifest) !== 'realtime') return undefined;
  const traffic = manifest.manifest.spec.traffic ?? {};
  const style =
    settings.deploymentStyle ??
    (traffic.strategy === 'canary'
      ? 'canary'
      : traffic.strategy === 'blue-green'
        ? 'all-at-once'
        : undefined);
  if (style === undefined && settings.rollbackAlarms.length === 0) return undefined;
  const wait = Math.min(3600, Math.max(0, Math.round(traffic.bakeTimeSeconds ?? 0)));
  const percent = Math.max(1, Math.min(100, Math.round(traffic.canaryPercent ?? 10)));
  const routing =
    style === 'canary'
      ? {
          Type: 'CANARY' as const,
          WaitIntervalInSeconds: wait,
          CanarySize: { Type: 'CAPACITY_PERCENT' as const, Value: percent },
        }
      : style === 'linear'
        ? {
            Type: 'LINEAR' as const,
            WaitIntervalInSeconds: wait,
            LinearStepSize: { Type: 'CAPACITY_PERCENT' as const, Value: percent },
          }
        : { Type: 'ALL_AT_ONCE' as const, WaitIntervalInSeconds: wait };
  return {
    BlueGreenUpdatePolicy: {
      TrafficRoutingConfiguration: routing,
      TerminationWaitInSeconds: Math.min(600, wait),
    },
    ...(settings.rollbackAlarms.length === 0
      ? {}
      : {
          AutoRollbackConfiguration: { Alarms: settings.rollbackAlarms.map((AlarmName) => ({ AlarmName })) },
        }),
  };
}
