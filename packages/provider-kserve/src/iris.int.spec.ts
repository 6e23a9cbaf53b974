// The "done when": the kserve iris example deploys, is invoked, updates by canary and is destroyed
// against the fake Kubernetes API server, and `kubectl get inferenceservices -o yaml` shows what modelport
// created. The predictor is the real serving image (a decoy model baked in), started by the fake the way
// KServe starts a custom container: examples/iris/model.onnx copied from the example's s3:// URI into
// /mnt/models by the storage-initializer step, then the kserve-container with the rendered args and env,
// probed before Ready; status.url is the fake's ingress for the InferenceService, which forwards to the
// ready revisions' pods by their traffic share.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TAGS } from '@modelport/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveInferenceService } from './kube-client.js';
import type { Harness } from './testing/harness.js';
import { startHarness } from './testing/harness.js';
import { renderInferenceService } from './render.js';
import { irisText, loadKserve } from './testing/manifests.js';

const run = promisify(execFile);

// Iris: setosa, virginica, versicolor (examples/iris/payload.json's first three rows).
const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
  [5.9, 3.0, 4.2, 1.5],
];

describe('kserve iris example against the fake API server', { sequential: true, timeout: 60_000 }, () => {
  let h: Harness;
  let base = '';
  let canary = '';

  beforeAll(async () => {
    h = await startHarness({ serving: true, provider: { waitTimeoutMs: 60_000, pollIntervalMs: 20 } });
    base = await h.manifest('iris.yaml');
    // A new image version rolled out as a 20% canary.
    canary = await h.manifest('iris-canary.yaml', [
      ['modelport-serving:0.1.0', 'modelport-serving:0.2.0'],
      ['strategy: replace', 'strategy: canary\n    canaryPercent: 20'],
    ]);
  });
  afterAll(async () => {
    await h.stop();
  });

  const live = (): LiveInferenceService | undefined =>
    h.server.store.objects.get('models/iris') as LiveInferenceService | undefined;

  async function kubectlYaml(): Promise<string> {
    const args = [
      '--kubeconfig',
      h.kubeconfig,
      '--request-timeout=5s',
      '-n',
      'models',
      'get',
      'inferenceservices',
      '-o',
      'yaml',
    ];
    const { stdout } = await run('kubectl', args, {
      env: { ...process.env, HOME: h.dir, KUBECACHEDIR: join(h.dir, 'cache') },
    });
    return stdout;
  }

  it('deploys: one InferenceService, Ready, with modelport labels', async () => {
    const [outcome] = await h.modelport().apply(base);
    expect(outcome?.result.ok).toBe(true);
    expect(outcome?.plan.actions.map((a) => `${a.kind} ${a.id}`)).toEqual([
      'create kserve:InferenceService/iris',
    ]);
    const [status] = await h.modelport().status(base);
    expect(status).toMatchObject({
      state: 'ready',
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      resources: [{ state: 'ready' }],
    });
    expect(h.server.pods?.running()).toHaveLength(1);
    expect(status?.details?.['conditions']).toContainEqual(
      expect.objectContaining({ type: 'Ready', status: 'True' }),
    );
    expect(live()?.metadata.labels).toMatchObject({
      [TAGS.managedBy]: 'modelport',
      [TAGS.name]: 'iris',
      team: 'examples',
    });
  });

  it('wrote exactly what renderInferenceService prints (plan --output yaml for GitOps)', () => {
    const rendered = renderInferenceService(loadKserve(irisText()));
    expect(live()?.spec).toEqual(rendered.spec);
    expect(live()?.metadata.labels).toEqual(rendered.metadata.labels);
    expect(live()?.metadata.namespace).toBe(rendered.metadata.namespace);
  });

  async function labels(manifest: string): Promise<number[]> {
    const body = new TextEncoder().encode(JSON.stringify({ instances: ROWS }));
    const response = await h.modelport().invoke(manifest, { body, contentType: 'application/json' });
    expect(response.status, new TextDecoder().decode(response.body)).toBe(200);
    const answer = JSON.parse(new TextDecoder().decode(response.body)) as {
      predictions: { label: number }[];
    };
    return answer.predictions.map((p) => p.label);
  }

  it("answers a KServe v1 prediction through status.url, from the iris model (not the image's decoy)", async () => {
    expect(await labels(base)).toEqual([0, 2, 1]);
  });

  it('kubectl get inferenceservices -o yaml shows the resource modelport created', async () => {
    const yaml = await kubectlYaml();
    expect(yaml).toContain('kind: InferenceService');
    expect(yaml).toContain('modelport.dev/managed-by: modelport');
    expect(yaml).toContain('image: ghcr.io/modelport/modelport-serving:0.1.0');
  });

  it('lists the deployment', async () => {
    const all = await h
      .modelport()
      .list({ provider: 'kserve', extensions: { kserve: { namespace: 'models' } } });
    expect(all).toEqual([expect.objectContaining({ name: 'iris', provider: 'kserve', state: 'ready' })]);
  });

  it('updates by canary: canaryTrafficPercent 20, traffic split 20/80 between revisions', async () => {
    const url = live()?.status?.url;
    const [plan] = await h.modelport().plan(canary);
    expect(plan?.actions.map((a) => a.kind)).toEqual(['update']);
    const [outcome] = await h.modelport().apply(canary);
    expect(outcome?.result.ok).toBe(true);
    expect(live()?.spec['predictor']).toMatchObject({ canaryTrafficPercent: 20 });
    expect(live()?.metadata.generation).toBe(2);
    const [status] = await h.modelport().status(canary);
    expect(status?.details?.['traffic']).toEqual([
      expect.objectContaining({ percent: 20, latestRevision: true }),
      expect.objectContaining({ percent: 80, latestRevision: false }),
    ]);
    expect(new Set((await h.modelport().plan(canary)).flatMap((p) => p.actions.map((a) => a.kind)))).toEqual(
      new Set(['noop']),
    );
    expect(await kubectlYaml()).toContain('canaryTrafficPercent: 20');
    // Both revisions run while the canary splits traffic; status.url (the route) stays the same.
    expect(h.server.pods?.running()).toHaveLength(2);
    expect(live()?.status?.url).toBe(url);
    const before = h.server.pods?.traffic('models/iris') ?? new Map<string, number>();
    for (let i = 0; i < 10; i++) expect(await labels(canary)).toEqual([0, 2, 1]);
    const after = h.server.pods?.traffic('models/iris') ?? new Map<string, number>();
    const sent = (revision: string): number => (after.get(revision) ?? 0) - (before.get(revision) ?? 0);
    expect([sent('iris-predictor-00002'), sent('iris-predictor-00001')]).toEqual([2, 8]);
  });

  it('detects drift made outside modelport and plans an update', async () => {
    const object = h.server.store.objects.get('models/iris');
    (object?.spec as { predictor: Record<string, unknown> }).predictor['maxReplicas'] = 9;
    const [plan] = await h.modelport().plan(canary);
    expect(plan?.actions[0]).toMatchObject({ kind: 'update', reason: 'drift: changed outside modelport' });
    expect(plan?.actions[0]?.changes).toContainEqual({
      path: 'spec.predictor.maxReplicas',
      before: 9,
      after: 4,
    });
  });

  it('removes a label dropped from the manifest, then converges', async () => {
    const unlabelled = await h.manifest('iris-unlabelled.yaml', [
      ['modelport-serving:0.1.0', 'modelport-serving:0.2.0'],
      ['strategy: replace', 'strategy: canary\n    canaryPercent: 20'],
      ['  labels:\n    team: examples\n', ''],
    ]);
    const [outcome] = await h.modelport().apply(unlabelled);
    expect(outcome?.result.ok).toBe(true);
    expect(live()?.metadata.labels?.['team']).toBeUndefined();
    const kinds = (await h.modelport().plan(unlabelled)).flatMap((p) => p.actions.map((a) => a.kind));
    expect(kinds).toEqual(['noop']);
  });

  it('is destroyed, and kubectl then shows no InferenceService', async () => {
    const [outcome] = await h.modelport().destroy(canary);
    expect(outcome?.result.ok).toBe(true);
    expect(h.server.store.objects.size).toBe(0);
    const [status] = await h.modelport().status(canary);
    expect(status?.state).toBe('absent');
    expect(await kubectlYaml()).toContain('items: []');
    await h.server.pods?.idle();
    expect(h.server.pods?.running()).toEqual([]);
  });
});
