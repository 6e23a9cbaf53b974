import { ListTagsCommand, paginateListEndpoints, paginateListTransformJobs } from '@aws-sdk/client-sagemaker';
import type { DeploymentSummary, ProviderContext } from '@modelport/core';
import { MANAGED_BY, TAGS, mapState } from '@modelport/core';
import type { AwsClients } from './client-factory.js';
import { ENDPOINT_STATES } from './endpoint.js';
import { call } from './errors.js';
import { TRANSFORM_STATES } from './transform-job.js';

/** Deployments modelport manages in a region: endpoints and transform jobs carrying its tags. */
export async function listDeployments(
  clients: AwsClients,
  region: string,
  _ctx: ProviderContext,
): Promise<DeploymentSummary[]> {
  const sm = clients.sagemaker;
  const candidates: { arn: string; name: string; status: string | undefined; kind: 'endpoint' | 'job' }[] =
    [];
  await call('list SageMaker endpoints', async () => {
    for await (const page of paginateListEndpoints({ client: sm }, {})) {
      for (const e of page.Endpoints ?? []) {
        if (e.EndpointArn !== undefined && e.EndpointName !== undefined) {
          candidates.push({
            arn: e.EndpointArn,
            name: e.EndpointName,
            status: e.EndpointStatus,
            kind: 'endpoint',
          });
        }
      }
    }
  });
  await call('list SageMaker transform jobs', async () => {
    for await (const page of paginateListTransformJobs({ client: sm }, {})) {
      for (const j of page.TransformJobSummaries ?? []) {
        if (j.TransformJobArn !== undefined && j.TransformJobName !== undefined) {
          candidates.push({
            arn: j.TransformJobArn,
            name: j.TransformJobName,
            status: j.TransformJobStatus,
            kind: 'job',
          });
        }
      }
    }
  });
  const summaries = await Promise.all(
    candidates.map(async (c): Promise<DeploymentSummary | undefined> => {
      const listed = await call(`read the tags of ${c.arn}`, () =>
        sm.send(new ListTagsCommand({ ResourceArn: c.arn })),
      );
      const tags = Object.fromEntries((listed.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
      if (tags[TAGS.managedBy] !== MANAGED_BY) return undefined;
      return {
        kind: tags[TAGS.kind] ?? (c.kind === 'endpoint' ? 'Endpoint' : 'BatchJob'),
        name: tags[TAGS.name] ?? c.name,
        provider: 'aws',
        state:
          c.kind === 'endpoint' ? mapState(ENDPOINT_STATES, c.status) : mapState(TRANSFORM_STATES, c.status),
        region,
        ...(tags[TAGS.specHash] === undefined ? {} : { specHash: tags[TAGS.specHash] }),
        ...(c.kind === 'endpoint'
          ? { url: `https://runtime.sagemaker.${region}.amazonaws.com/endpoints/${c.name}/invocations` }
          : {}),
      };
    }),
  );
  return summaries.filter((s): s is DeploymentSummary => s !== undefined);
}
