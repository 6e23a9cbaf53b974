import type { DeploymentSummary } from '@modelport/core';
import { mapState } from '@modelport/core';
import type { AzureClients } from './client-factory.js';
import { listAll } from './errors.js';
import { PROVISIONING_STATES } from './online.js';
import { AZURE_TAGS, isManaged } from './settings.js';

/** Online and batch endpoints of a workspace that modelport manages, found by their tags. */
export async function listDeployments(
  clients: AzureClients,
  resourceGroup: string,
  workspace: string,
): Promise<DeploymentSummary[]> {
  const [online, batch] = await Promise.all([
    listAll('list online endpoints', () => clients.ml.onlineEndpoints.list(resourceGroup, workspace)),
    listAll('list batch endpoints', () => clients.ml.batchEndpoints.list(resourceGroup, workspace)),
  ]);
  const summaries: DeploymentSummary[] = [];
  for (const e of [...online, ...batch]) {
    if (!isManaged(e.tags)) continue;
    const specHash = e.tags?.[AZURE_TAGS.specHash];
    summaries.push({
      kind: e.tags?.[AZURE_TAGS.kind] ?? 'Endpoint',
      name: e.tags?.[AZURE_TAGS.name] ?? e.name ?? '',
      provider: 'azure',
      state: mapState(PROVISIONING_STATES, e.properties.provisioningState),
      region: e.location,
      ...(specHash === undefined ? {} : { specHash }),
      ...(e.properties.scoringUri === undefined ? {} : { url: e.properties.scoringUri }),
    });
  }
  return summaries;
}
