import type { DesiredResource, ObservedResource, PlanAction } from '@modelport/core';
import { DeploymentState, ModelportError, TAGS } from '@modelport/core';
import type { DeploymentContext } from './deployment-context.js';
import type { Endpoint } from './vertex-types.js';
import { longRunning } from './deployment-context.js';
import { call, isAlreadyExists, isNotFound } from './errors.js';
import { decodeLabels, isOurs, labelFilter } from './labels.js';
import { RT } from './resource-types.js';
import type { GcpSettings } from './settings.js';
import { idOf, parentOf, resourceLabels } from './settings.js';

export type { Endpoint };

/** An endpoint as compared: where it lives and how it is reached, and the user's labels. */
export interface EndpointProperties {
  dedicated: boolean;
  network?: string;
  labels: Record<string, string>;
}

/** The endpoint's id is the deployment's name (a letter first, [a-z0-9-], ≤ 63: what metadata.name allows). */
export function endpointResource(settings: GcpSettings): DesiredResource {
  const properties: EndpointProperties = {
    dedicated: settings.dedicatedEndpoint,
    ...(settings.network === undefined ? {} : { network: settings.network }),
    labels: settings.userLabels,
  };
  return {
    type: RT.endpoint,
    name: settings.name,
    properties: properties as unknown as Record<string, unknown>,
    immutable: ['dedicated', 'network'],
  };
}

export function endpointName(settings: GcpSettings): string {
  return `${parentOf(settings)}/endpoints/${settings.name}`;
}

/** The deployment's endpoint (found by its labels), with the endpoint as Vertex returned it. */
export async function findEndpoint(dc: DeploymentContext): Promise<Endpoint | undefined> {
  const [endpoints] = await call(
    'list Vertex AI endpoints',
    () =>
      dc.clients.endpoints.listEndpoints({ parent: parentOf(dc.settings), filter: labelFilter(dc.settings) }),
    true,
  );
  return endpoints.find(
    (e) =>
      idOf(e.name ?? '') === dc.settings.name &&
      isOurs(decodeLabels(e.labels as Record<string, string>), dc.settings),
  );
}

export function observedEndpoint(endpoint: Endpoint, modelKeys: string[]): ObservedResource {
  const labels = decodeLabels(endpoint.labels as Record<string, string>);
  const user = Object.fromEntries(
    Object.entries(labels).filter(([k]) => !Object.values(TAGS).includes(k as never)),
  );
  return {
    type: RT.endpoint,
    name: idOf(endpoint.name ?? ''),
    properties: {
      dedicated: endpoint.dedicatedEndpointEnabled === true,
      ...(endpoint.network ? { network: endpoint.network } : {}),
      labels: user,
    },
    specHash: labels[TAGS.specHash],
    managed: true,
    state: DeploymentState.Ready,
    // A destroy deletes the endpoint before the models that were deployed on it.
    dependsOn: modelKeys,
    raw: endpoint,
  };
}

/** CreateEndpoint with the deployment's name as id; one that is already ours (a retried apply) is kept. */
export async function createEndpoint(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const p = action.desired?.properties as unknown as EndpointProperties;
  try {
    await longRunning(dc, `create endpoint ${action.name}`, () =>
      dc.clients.endpoints.createEndpoint(
        {
          parent: parentOf(dc.settings),
          endpointId: action.name,
          endpoint: {
            displayName: action.name,
            description: `modelport deployment ${dc.settings.name}`,
            labels: resourceLabels(dc.settings, action.specHash),
            ...(p.network === undefined ? {} : { network: p.network }),
            ...(p.dedicated ? { dedicatedEndpointEnabled: true } : {}),
          },
        },
        dc.clients.lro,
      ),
    );
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    const existing = await getEndpoint(dc);
    if (
      existing === undefined ||
      !isOurs(decodeLabels(existing.labels as Record<string, string>), dc.settings)
    ) {
      throw new ModelportError('conflict', `endpoint ${action.name} exists and is not managed by modelport`, {
        hint: 'rename the deployment (metadata.name), or delete or label the existing endpoint yourself',
        cause: error,
      });
    }
    await updateEndpointLabels(dc, action);
  }
}

/** Only labels can change in place (the spec-hash label follows them). */
export async function updateEndpointLabels(dc: DeploymentContext, action: PlanAction): Promise<void> {
  await call(`update the labels of endpoint ${action.name}`, () =>
    dc.clients.endpoints.updateEndpoint({
      endpoint: {
        name: endpointName(dc.settings),
        displayName: action.name,
        labels: resourceLabels(dc.settings, action.specHash),
      },
      updateMask: { paths: ['labels'] },
    }),
  );
}

export async function getEndpoint(dc: DeploymentContext): Promise<Endpoint | undefined> {
  try {
    const [endpoint] = await call(
      `get endpoint ${dc.settings.name}`,
      () => dc.clients.endpoints.getEndpoint({ name: endpointName(dc.settings) }),
      true,
    );
    return endpoint;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Deletes the endpoint, undeploying first whatever a broken apply may have left on it. */
export async function deleteEndpoint(dc: DeploymentContext): Promise<void> {
  const endpoint = await getEndpoint(dc);
  if (endpoint === undefined) return;
  const ids = (endpoint.deployedModels ?? []).map((d) => d.id ?? '');
  for (const [i, id] of ids.entries()) {
    // Traffic moves to a model still deployed, so each undeploy is allowed.
    const next = ids[i + 1];
    await longRunning(dc, `undeploy ${id} from ${dc.settings.name}`, () =>
      dc.clients.endpoints.undeployModel(
        {
          endpoint: endpoint.name ?? '',
          deployedModelId: id,
          ...(next === undefined ? {} : { trafficSplit: { [next]: 100 } }),
        },
        dc.clients.lro,
      ),
    );
  }
  try {
    await longRunning(dc, `delete endpoint ${dc.settings.name}`, () =>
      dc.clients.endpoints.deleteEndpoint({ name: endpoint.name ?? '' }, dc.clients.lro),
    );
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
