import {
  AddTagsCommand,
  CreateEndpointCommand,
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import type {
  DeploymentConfig,
  DescribeEndpointCommandOutput,
  EndpointStatus,
} from '@aws-sdk/client-sagemaker';
import type { DesiredResource, Diagnostic, ObservedResource, PlanAction } from '@modelport/core';
import { DeploymentState, ModelportError, TAGS, mapState, resourceKey } from '@modelport/core';
import type { DeploymentContext } from './deployment-context.js';
import { waitUntil } from './deployment-context.js';
import { call, isNotFound } from './errors.js';
import { RT } from './resource-types.js';
import { readTags } from './sagemaker-model.js';
import type { AwsSettings } from './settings.js';
import { isOurs, resourceTags, tagList } from './settings.js';

/** SageMaker endpoint states → the neutral states (one table, as libcloud's NODE_STATE_MAP). */
export const ENDPOINT_STATES: Readonly<Record<EndpointStatus, DeploymentState>> = {
  Creating: DeploymentState.Creating,
  Updating: DeploymentState.Updating,
  SystemUpdating: DeploymentState.Updating,
  RollingBack: DeploymentState.Updating,
  InService: DeploymentState.Ready,
  OutOfService: DeploymentState.Stopped,
  Deleting: DeploymentState.Deleting,
  Failed: DeploymentState.Failed,
  UpdateRollbackFailed: DeploymentState.Degraded,
};

const BUSY: ReadonlySet<string> = new Set([
  'Creating',
  'Updating',
  'SystemUpdating',
  'RollingBack',
  'Deleting',
]);

export interface EndpointProperties {
  config: string;
}

export function endpointResource(settings: AwsSettings, configName: string): DesiredResource {
  return {
    type: RT.endpoint,
    name: settings.name,
    properties: { config: configName },
    dependsOn: [resourceKey({ type: RT.endpointConfig, name: configName })],
  };
}

export async function describeEndpoint(
  dc: DeploymentContext,
  name: string,
): Promise<DescribeEndpointCommandOutput | undefined> {
  try {
    return await call(`describe endpoint ${name}`, () =>
      dc.clients.sagemaker.send(new DescribeEndpointCommand({ EndpointName: name })),
    );
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * The endpoint named after the deployment, when modelport manages it. A failed last update is reported as a
 * plan note: the endpoint kept serving its previous config, and the plan says why.
 */
export async function observeEndpoint(
  dc: DeploymentContext,
  notes: Diagnostic[],
): Promise<ObservedResource[]> {
  const described = await describeEndpoint(dc, dc.settings.name);
  if (described?.EndpointArn === undefined) return [];
  const tags = (await readTags(dc, described.EndpointArn)) ?? {};
  const managed = isOurs(tags, dc.settings);
  const config = described.EndpointConfigName ?? '';
  if (managed && described.FailureReason !== undefined && described.EndpointStatus === 'InService') {
    notes.push({
      severity: 'warning',
      code: 'aws.updateFailed',
      file: dc.manifest.file,
      path: 'spec',
      line: 1,
      column: 1,
      message: `endpoint ${dc.settings.name}: the last update failed (${described.FailureReason}); it still serves ${config}`,
      hint: 'fix the cause and apply again; `modelport status` shows the endpoint',
    });
  }
  return [
    {
      type: RT.endpoint,
      name: dc.settings.name,
      properties: { config },
      specHash: tags[TAGS.specHash],
      managed,
      state: mapState(ENDPOINT_STATES, described.EndpointStatus),
      dependsOn: [resourceKey({ type: RT.endpointConfig, name: config })],
      raw: described,
    },
  ];
}

/** Creates the endpoint and waits for InService; one that ends Failed is deleted again, and the error says why. */
export async function createEndpoint(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const config = (action.desired?.properties as unknown as EndpointProperties).config;
  await call(`create endpoint ${action.name}`, () =>
    dc.clients.sagemaker.send(
      new CreateEndpointCommand({
        EndpointName: action.name,
        EndpointConfigName: config,
        Tags: tagList(resourceTags(dc.settings, action.specHash)),
      }),
    ),
  );
  const settled = await waitSettled(dc, action.name);
  if (settled?.EndpointStatus === 'InService') return;
  const reason = settled?.FailureReason ?? `status ${settled?.EndpointStatus ?? 'gone'}`;
  // A failed endpoint serves nothing and blocks its name: remove it rather than leave it behind.
  await deleteEndpoint(dc, action.name);
  throw new ModelportError('unavailable', `endpoint ${action.name} failed to start: ${reason}`, {
    retryable: false,
    hint: 'check the serving image, the model artifact and the role; the failed endpoint was removed',
    details: { failureReason: reason },
  });
}

/**
 * Points the endpoint at a new config with UpdateEndpoint (no downtime: SageMaker brings the new fleet up
 * before it shifts traffic, per the deployment config). A failed update leaves SageMaker serving the
 * previous config; that is reported as an error, so the engine removes what this apply created.
 */
export async function updateEndpoint(
  dc: DeploymentContext,
  action: PlanAction,
  deployment: DeploymentConfig | undefined,
): Promise<void> {
  const config = (action.desired?.properties as unknown as EndpointProperties).config;
  const before = await waitSettled(dc, action.name);
  if (before === undefined) {
    throw new ModelportError('notFound', `endpoint ${action.name} disappeared before its update`, {
      retryable: true,
    });
  }
  if (before.EndpointConfigName !== config) {
    await call(`update endpoint ${action.name}`, () =>
      dc.clients.sagemaker.send(
        new UpdateEndpointCommand({
          EndpointName: action.name,
          EndpointConfigName: config,
          ...(deployment === undefined ? {} : { DeploymentConfig: deployment }),
        }),
      ),
    );
    const after = await waitSettled(dc, action.name);
    if (after?.EndpointStatus !== 'InService' || after.EndpointConfigName !== config) {
      const reason = after?.FailureReason ?? `status ${after?.EndpointStatus ?? 'gone'}`;
      throw new ModelportError(
        'unavailable',
        `the update of endpoint ${action.name} to ${config} failed: ${reason}; it still serves ${after?.EndpointConfigName ?? before.EndpointConfigName}`,
        {
          retryable: false,
          hint: 'the new model and config made by this apply are removed; fix the cause and apply again',
          details: { failureReason: reason, servingConfig: after?.EndpointConfigName },
        },
      );
    }
  }
  // The spec-hash tag follows the endpoint's new state (AddTags overwrites a key's value).
  await call(`tag endpoint ${action.name}`, () =>
    dc.clients.sagemaker.send(
      new AddTagsCommand({
        ResourceArn: before.EndpointArn,
        Tags: tagList(resourceTags(dc.settings, action.specHash)),
      }),
    ),
  );
}

export async function deleteEndpoint(dc: DeploymentContext, name: string): Promise<void> {
  const current = await waitSettled(dc, name, true);
  if (current === undefined) return;
  if (current.EndpointStatus !== 'Deleting') {
    try {
      await call(`delete endpoint ${name}`, () =>
        dc.clients.sagemaker.send(new DeleteEndpointCommand({ EndpointName: name })),
      );
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
  }
  await waitUntil(
    dc,
    `endpoint ${name}`,
    () => describeEndpoint(dc, name),
    (d) => d?.EndpointStatus ?? 'deleted',
    (d) => d === undefined,
  );
}

/** Waits until the endpoint is not in a transition (Creating, Updating, ...); undefined when it is gone. */
async function waitSettled(
  dc: DeploymentContext,
  name: string,
  deletingIsSettled = false,
): Promise<DescribeEndpointCommandOutput | undefined> {
  return waitUntil(
    dc,
    `endpoint ${name}`,
    () => describeEndpoint(dc, name),
    (d) => d?.EndpointStatus ?? 'absent',
    (d) =>
      d === undefined ||
      !BUSY.has(d.EndpointStatus ?? '') ||
      (deletingIsSettled && d.EndpointStatus === 'Deleting'),
  );
}
