import {
  CreateEndpointConfigCommand,
  DeleteEndpointConfigCommand,
  DescribeEndpointConfigCommand,
  paginateListEndpointConfigs,
} from '@aws-sdk/client-sagemaker';
import type { DescribeEndpointConfigCommandOutput, ProductionVariant } from '@aws-sdk/client-sagemaker';
import type { DesiredResource, ObservedResource, PlanAction } from '@modelport/core';
import { DeploymentState, TAGS, resourceKey } from '@modelport/core';
import type { DeploymentContext } from './deployment-context.js';
import { call, isNotFound } from './errors.js';
import { RT } from './resource-types.js';
import { hashedName, hashedNamePattern, readTags } from './sagemaker-model.js';
import type { AwsSettings } from './settings.js';
import { isOurs, resourceTags, tagList } from './settings.js';

export const VARIANT = 'AllTraffic';

export interface VariantProperties {
  name: string;
  model: string;
  instanceType?: string;
  instanceCount?: number;
  serverless?: { memoryMB: number; maxConcurrency: number; provisionedConcurrency?: number };
}

export interface AsyncOutputProperties {
  outputPath: string;
  failurePath: string;
  successTopic?: string;
  errorTopic?: string;
  kmsKeyId?: string;
}

/** An endpoint config as compared (and read back from DescribeEndpointConfig in the same shape). */
export interface EndpointConfigProperties {
  variants: VariantProperties[];
  async?: AsyncOutputProperties;
  kmsKeyId?: string;
}

export function endpointConfigResource(
  settings: AwsSettings,
  properties: EndpointConfigProperties,
): DesiredResource {
  const props = properties as unknown as Record<string, unknown>;
  return {
    type: RT.endpointConfig,
    name: hashedName(settings.name, props),
    properties: props,
    immutable: Object.keys(props),
    dependsOn: properties.variants.map((v) => resourceKey({ type: RT.model, name: v.model })),
  };
}

export async function observeEndpointConfigs(dc: DeploymentContext): Promise<ObservedResource[]> {
  const pattern = hashedNamePattern(dc.settings.name);
  const names: { name: string; arn: string }[] = [];
  await call('list SageMaker endpoint configs', async () => {
    for await (const page of paginateListEndpointConfigs(
      { client: dc.clients.sagemaker },
      { NameContains: dc.settings.name },
    )) {
      for (const c of page.EndpointConfigs ?? []) {
        if (
          c.EndpointConfigName !== undefined &&
          c.EndpointConfigArn !== undefined &&
          pattern.test(c.EndpointConfigName)
        ) {
          names.push({ name: c.EndpointConfigName, arn: c.EndpointConfigArn });
        }
      }
    }
  });
  const found = await Promise.all(
    names.map(async ({ name, arn }): Promise<ObservedResource | undefined> => {
      const [tags, described] = await Promise.all([readTags(dc, arn), describeConfig(dc, name)]);
      if (tags === undefined || described === undefined || !isOurs(tags, dc.settings)) return undefined;
      const properties = endpointConfigProperties(described);
      return {
        type: RT.endpointConfig,
        name,
        properties: properties as unknown as Record<string, unknown>,
        specHash: tags[TAGS.specHash],
        managed: true,
        state: DeploymentState.Ready,
        dependsOn: properties.variants.map((v) => resourceKey({ type: RT.model, name: v.model })),
        raw: described,
      };
    }),
  );
  return found.filter((r): r is ObservedResource => r !== undefined);
}

async function describeConfig(
  dc: DeploymentContext,
  name: string,
): Promise<DescribeEndpointConfigCommandOutput | undefined> {
  try {
    return await call(`describe endpoint config ${name}`, () =>
      dc.clients.sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: name })),
    );
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export function endpointConfigProperties(
  described: DescribeEndpointConfigCommandOutput,
): EndpointConfigProperties {
  const output = described.AsyncInferenceConfig?.OutputConfig;
  const notify = output?.NotificationConfig;
  return {
    variants: (described.ProductionVariants ?? []).map((v) => ({
      name: v.VariantName ?? '',
      model: v.ModelName ?? '',
      ...(v.InstanceType === undefined ? {} : { instanceType: v.InstanceType }),
      ...(v.InitialInstanceCount === undefined ? {} : { instanceCount: v.InitialInstanceCount }),
      ...(v.ServerlessConfig === undefined
        ? {}
        : {
            serverless: {
              memoryMB: v.ServerlessConfig.MemorySizeInMB ?? 0,
              maxConcurrency: v.ServerlessConfig.MaxConcurrency ?? 0,
              ...(v.ServerlessConfig.ProvisionedConcurrency === undefined
                ? {}
                : { provisionedConcurrency: v.ServerlessConfig.ProvisionedConcurrency }),
            },
          }),
    })),
    ...(output === undefined
      ? {}
      : {
          async: {
            outputPath: output.S3OutputPath ?? '',
            failurePath: output.S3FailurePath ?? '',
            ...(notify?.SuccessTopic === undefined ? {} : { successTopic: notify.SuccessTopic }),
            ...(notify?.ErrorTopic === undefined ? {} : { errorTopic: notify.ErrorTopic }),
            ...(output.KmsKeyId === undefined ? {} : { kmsKeyId: output.KmsKeyId }),
          },
        }),
    ...(described.KmsKeyId === undefined ? {} : { kmsKeyId: described.KmsKeyId }),
  };
}

export async function createEndpointConfig(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const p = action.desired?.properties as unknown as EndpointConfigProperties;
  const variants: ProductionVariant[] = p.variants.map((v) => ({
    VariantName: v.name,
    ModelName: v.model,
    ...(v.instanceType === undefined
      ? {}
      : { InstanceType: v.instanceType as ProductionVariant['InstanceType'] }),
    ...(v.instanceCount === undefined ? {} : { InitialInstanceCount: v.instanceCount }),
    ...(v.serverless === undefined
      ? {}
      : {
          ServerlessConfig: {
            MemorySizeInMB: v.serverless.memoryMB,
            MaxConcurrency: v.serverless.maxConcurrency,
            ...(v.serverless.provisionedConcurrency === undefined
              ? {}
              : { ProvisionedConcurrency: v.serverless.provisionedConcurrency }),
          },
        }),
  }));
  const async = p.async;
  await call(`create endpoint config ${action.name}`, () =>
    dc.clients.sagemaker.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: action.name,
        ProductionVariants: variants,
        ...(async === undefined
          ? {}
          : {
              AsyncInferenceConfig: {
                OutputConfig: {
                  S3OutputPath: async.outputPath,
                  S3FailurePath: async.failurePath,
                  ...(async.kmsKeyId === undefined ? {} : { KmsKeyId: async.kmsKeyId }),
                  ...(async.successTopic === undefined && async.errorTopic === undefined
                    ? {}
                    : {
                        NotificationConfig: {
                          ...(async.successTopic === undefined ? {} : { SuccessTopic: async.successTopic }),
                          ...(async.errorTopic === undefined ? {} : { ErrorTopic: async.errorTopic }),
                        },
                      }),
                },
              },
            }),
        ...(p.kmsKeyId === undefined ? {} : { KmsKeyId: p.kmsKeyId }),
        Tags: tagList(resourceTags(dc.settings, action.specHash)),
      }),
    ),
  );
}

export async function deleteEndpointConfig(dc: DeploymentContext, name: string): Promise<void> {
  try {
    await call(`delete endpoint config ${name}`, () =>
      dc.clients.sagemaker.send(new DeleteEndpointConfigCommand({ EndpointConfigName: name })),
    );
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
