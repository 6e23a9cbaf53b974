import type { DeploymentSummary, ProviderContext } from '@modelport/core';
import { DeploymentState, MANAGED_BY, TAGS, mapState } from '@modelport/core';
import { JOB_STATES } from './batch-job.js';
import type { GcpClients } from './client-factory.js';
import { call } from './errors.js';
import { decodeLabels, labelFilter } from './labels.js';

/** Every deployment modelport manages in one project and location: its endpoints and batch jobs, by labels. */
export async function listDeployments(
  clients: GcpClients,
  project: string,
  location: string,
  _ctx: ProviderContext,
): Promise<DeploymentSummary[]> {
  const parent = `projects/${project}/locations/${location}`;
  const [[endpoints], [jobs]] = await Promise.all([
    call(
      'list Vertex AI endpoints',
      () => clients.endpoints.listEndpoints({ parent, filter: labelFilter() }),
      true,
    ),
    call(
      'list batch prediction jobs',
      () => clients.jobs.listBatchPredictionJobs({ parent, filter: labelFilter() }),
      true,
    ),
  ]);
  const out: DeploymentSummary[] = [];
  for (const endpoint of endpoints) {
    const labels = decodeLabels(endpoint.labels as Record<string, string>);
    const name = labels[TAGS.name];
    if (labels[TAGS.managedBy] !== MANAGED_BY || name === undefined) continue;
    const serving = Object.values((endpoint.trafficSplit ?? {}) as Record<string, number>).some((p) => p > 0);
    out.push({
      kind: labels[TAGS.kind] ?? 'Endpoint',
      name,
      provider: 'gcp',
      state: serving ? DeploymentState.Ready : DeploymentState.Creating,
      region: location,
      ...(labels[TAGS.specHash] === undefined ? {} : { specHash: labels[TAGS.specHash] }),
    });
  }
  const latest = new Map<string, DeploymentSummary>();
  for (const job of jobs) {
    const labels = decodeLabels(job.labels as Record<string, string>);
    const name = labels[TAGS.name];
    if (name === undefined) continue;
    latest.set(name, {
      kind: labels[TAGS.kind] ?? 'BatchJob',
      name,
      provider: 'gcp',
      state: mapState(JOB_STATES, String(job.state ?? '')),
      region: location,
      ...(labels[TAGS.specHash] === undefined ? {} : { specHash: labels[TAGS.specHash] }),
    });
  }
  return [...out, ...latest.values()];
}
