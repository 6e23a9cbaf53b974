import {
  CreateModelCommand,
  DeleteModelCommand,
  DescribeModelCommand,
  ListTagsCommand,
  paginateListModels,
} from '@aws-sdk/client-sagemaker';
import type { DescribeModelCommandOutput } from '@aws-sdk/client-sagemaker';
import type { DesiredResource, ObservedResource, PlanAction } from '@modelport/core';
import { DeploymentState, ModelportError, TAGS, specHash } from '@modelport/core';
import type { ModelData } from './artifact.js';
import type { DeploymentContext } from './deployment-context.js';
import { call, isNotFound } from './errors.js';
import { RT } from './resource-types.js';
import type { AwsSettings } from './settings.js';
import { isOurs, resourceTags, tagList } from './settings.js';

/** A SageMaker model as modelport compares it (the same shape is read back from DescribeModel). */
export interface ModelProperties {
  image: string;
  modelDataUrl?: string;
  modelDataSource?: string;
  environment: Record<string, string>;
  executionRoleArn: string;
  vpc?: { subnets: string[]; securityGroups: string[] };
}

/** Models and endpoint configs are immutable: they are named `<name>-<hash8>` of their properties. */
export function hashedName(name: string, properties: Record<string, unknown>): string {
  return `${name}-${specHash(properties).slice(0, 8)}`;
}

export function hashedNamePattern(name: string): RegExp {
  return new RegExp(`^${name.replace(/[-]/g, '\\-')}-[0-9a-f]{8}$`);
}

export function modelResource(
  settings: AwsSettings,
  image: string,
  data: ModelData,
  environment: Record<string, string>,
  artifactId: string | undefined,
): DesiredResource {
  const properties: ModelProperties = {
    image,
    ...(data.modelDataUrl === undefined ? {} : { modelDataUrl: data.modelDataUrl }),
    ...(data.uncompressedUri === undefined ? {} : { modelDataSource: data.uncompressedUri }),
    // The portable serving image (packages/edge) reads these: SageMaker puts the model data in
    // /opt/ml/model, and the model is served under the deployment's name. MODELPORT_MODEL is always set
    // for model data: without it the image would serve the model baked into it (audit A4).
    environment: {
      ...modelPathEnv(data),
      MODELPORT_MODEL_NAME: settings.name,
      ...environment,
    },
    executionRoleArn: settings.roleArn,
    ...(settings.subnets.length === 0 && settings.securityGroups.length === 0
      ? {}
      : {
          vpc: { subnets: [...settings.subnets].sort(), securityGroups: [...settings.securityGroups].sort() },
        }),
  };
  const props = properties as unknown as Record<string, unknown>;
  return {
    type: RT.model,
    name: hashedName(settings.name, props),
    properties: props,
    immutable: Object.keys(props),
    dependsOn: artifactId === undefined ? [] : [artifactId],
  };
}

export const SAGEMAKER_MODEL_DIR = '/opt/ml/model';

/**
 * Where the serving image finds the model in the container: the folder /opt/ml/model for a model.tar.gz
 * (the model and its signature.json side by side) or a prefix, /opt/ml/model/<file> for one uncompressed
 * object. Nothing when the manifest names no model data (the image's own model).
 */
export function modelPathEnv(data: ModelData): Record<string, string> {
  if (data.modelDataUrl !== undefined) return { MODELPORT_MODEL: SAGEMAKER_MODEL_DIR };
  if (data.uncompressedUri === undefined) return {};
  return {
    MODELPORT_MODEL:
      data.modelFile === undefined ? SAGEMAKER_MODEL_DIR : `${SAGEMAKER_MODEL_DIR}/${data.modelFile}`,
  };
}
/** Repository and tag of the portable serving image in the account's ECR (`modelport image push` puts it there). */
export const SERVING_IMAGE_REPOSITORY = 'modelport-serving';
export const SERVING_IMAGE_TAG = '0.1.0';

/**
 * The image the model runs in: spec.model.image, else, for ONNX, the portable modelport serving image in
 * the account's own ECR (the account of the execution role), pushed once with `modelport package
 * --format oci` + `modelport image push --auth-preset ecr:<region>`.
 */
export function servingImage(image: string | undefined, format: string, settings: AwsSettings): string {
  if (image !== undefined) return image;
  const account = /^arn:aws[a-z-]*:iam::(\d{12}):/.exec(settings.roleArn)?.[1];
  if (format === 'onnx' && account !== undefined) {
    return `${account}.dkr.ecr.${settings.region}.amazonaws.com/${SERVING_IMAGE_REPOSITORY}:${SERVING_IMAGE_TAG}`;
  }
  throw new ModelportError('invalidInput', `SageMaker needs a serving image for format "${format}"`, {
    hint: 'set spec.model.image to the serving image pushed to your ECR, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/modelport-serving:0.1.0',
  });
}

export async function observeModels(dc: DeploymentContext): Promise<ObservedResource[]> {
  const sm = dc.clients.sagemaker;
  const pattern = hashedNamePattern(dc.settings.name);
  const names: { name: string; arn: string }[] = [];
  await call('list SageMaker models', async () => {
    for await (const page of paginateListModels({ client: sm }, { NameContains: dc.settings.name })) {
      for (const m of page.Models ?? []) {
        if (m.ModelName !== undefined && m.ModelArn !== undefined && pattern.test(m.ModelName)) {
          names.push({ name: m.ModelName, arn: m.ModelArn });
        }
      }
    }
  });
  const found = await Promise.all(
    names.map(async ({ name, arn }): Promise<ObservedResource | undefined> => {
      // Tags and description in parallel: the name pattern already narrowed the candidates.
      const [tags, described] = await Promise.all([readTags(dc, arn), describeModel(dc, name)]);
      if (tags === undefined || described === undefined || !isOurs(tags, dc.settings)) return undefined;
      const properties = modelProperties(described);
      return {
        type: RT.model,
        name,
        properties: properties as unknown as Record<string, unknown>,
        specHash: tags[TAGS.specHash],
        managed: true,
        state: DeploymentState.Ready,
        raw: described,
      };
    }),
  );
  return found.filter((r): r is ObservedResource => r !== undefined);
}

export function modelProperties(described: DescribeModelCommandOutput): ModelProperties {
  const container = described.PrimaryContainer ?? described.Containers?.[0] ?? {};
  const vpc = described.VpcConfig;
  const source = container.ModelDataSource?.S3DataSource?.S3Uri;
  return {
    image: container.Image ?? '',
    ...(container.ModelDataUrl === undefined ? {} : { modelDataUrl: container.ModelDataUrl }),
    ...(source === undefined ? {} : { modelDataSource: source }),
    environment: { ...(container.Environment ?? {}) },
    executionRoleArn: described.ExecutionRoleArn ?? '',
    // An empty VpcConfig (some implementations echo one back) is no VPC.
    ...(vpc === undefined || ((vpc.Subnets ?? []).length === 0 && (vpc.SecurityGroupIds ?? []).length === 0)
      ? {}
      : {
          vpc: {
            subnets: [...(vpc.Subnets ?? [])].sort(),
            securityGroups: [...(vpc.SecurityGroupIds ?? [])].sort(),
          },
        }),
  };
}

async function describeModel(
  dc: DeploymentContext,
  name: string,
): Promise<DescribeModelCommandOutput | undefined> {
  try {
    return await call(`describe model ${name}`, () =>
      dc.clients.sagemaker.send(new DescribeModelCommand({ ModelName: name })),
    );
  } catch (error) {
    if (isNotFound(error)) return undefined; // deleted between the list and the describe
    throw error;
  }
}

/** Tags of a SageMaker resource; undefined when it vanished meanwhile. */
export async function readTags(
  dc: DeploymentContext,
  arn: string,
): Promise<Record<string, string> | undefined> {
  const tags: Record<string, string> = {};
  let token: string | undefined;
  try {
    do {
      const page = await call(`read the tags of ${arn}`, () =>
        dc.clients.sagemaker.send(
          new ListTagsCommand({ ResourceArn: arn, ...(token === undefined ? {} : { NextToken: token }) }),
        ),
      );
      for (const tag of page.Tags ?? []) tags[tag.Key ?? ''] = tag.Value ?? '';
      token = page.NextToken;
    } while (token !== undefined);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  return tags;
}

export async function createModel(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const p = action.desired?.properties as unknown as ModelProperties;
  const tags = resourceTags(dc.settings, action.specHash);
  await call(`create model ${action.name}`, () =>
    dc.clients.sagemaker.send(
      new CreateModelCommand({
        ModelName: action.name,
        ExecutionRoleArn: p.executionRoleArn,
        PrimaryContainer: {
          Image: p.image,
          ...(p.modelDataUrl === undefined ? {} : { ModelDataUrl: p.modelDataUrl }),
          ...(p.modelDataSource === undefined
            ? {}
            : {
                ModelDataSource: {
                  S3DataSource: {
                    S3Uri: p.modelDataSource,
                    S3DataType: p.modelDataSource.endsWith('/') ? 'S3Prefix' : 'S3Object',
                    CompressionType: 'None',
                  },
                },
              }),
          Environment: p.environment,
        },
        ...(p.vpc === undefined
          ? {}
          : { VpcConfig: { Subnets: p.vpc.subnets, SecurityGroupIds: p.vpc.securityGroups } }),
        Tags: tagList(tags),
      }),
    ),
  );
}

export async function deleteModel(dc: DeploymentContext, name: string): Promise<void> {
  try {
    await call(`delete model ${name}`, () =>
      dc.clients.sagemaker.send(new DeleteModelCommand({ ModelName: name })),
    );
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
