// The CLI killed (SIGKILL) between two creates (after UploadModel was accepted, before the deploy): nothing
// is rolled back (the process is gone), the accepted operation still finishes in the cloud, and
// re-applying converges from what Vertex AI holds — found by its labels — with no duplicates.
import { join } from 'node:path';
import type { VertexEmulator, VertexObject } from '@modelport/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GCP_EXAMPLES, gcpEnv, startVertex } from './gcp-helpers.js';
import type { Workspace } from './helpers.js';
import { crashCli, createWorkspace, exampleManifest, firstPlanActions, runCliWithEnv } from './helpers.js';

let emulator: VertexEmulator;
let ws: Workspace;

beforeAll(async () => {
  emulator = await startVertex();
  ws = await createWorkspace('gcp-crash');
});

afterAll(async () => {
  await emulator?.stop();
  await ws?.cleanup();
});

it('re-apply after a crash between UploadModel and DeployModel converges with no duplicates', async () => {
  const manifest = await exampleManifest(GCP_EXAMPLES, 'iris-endpoint.yaml', join(ws.dir, 'iris.yaml'));
  const env = gcpEnv(emulator, ws.stateDir);
  const signal = await crashCli(ws, ['apply', manifest, '--yes'], env, (kill) =>
    emulator.faults.onCall((call, phase) => {
      if (call.method === 'UploadModel' && phase === 'after') kill();
    }),
  );
  expect(signal).toBe('SIGKILL');
  emulator.faults.reset();
  // The accepted operation finishes without the client.
  await new Promise((r) => setTimeout(r, 100));
  expect(emulator.models.size).toBe(1);
  expect([...emulator.endpoints.values()].flatMap((e) => e['deployedModels'] as VertexObject[])).toEqual([]);

  const plan = await runCliWithEnv(['--output', 'json', 'plan', manifest], env);
  expect(plan.code, plan.stderr).toBe(0);
  const actions = firstPlanActions(plan.stdout) ?? [];
  expect(
    actions.filter((a) => a.type === 'gcs:ModelFolder' || a.type === 'vertex:Model').map((a) => a.kind),
  ).toEqual(['noop', 'noop']);
  expect(actions.filter((a) => a.type === 'vertex:DeployedModel').map((a) => a.kind)).toEqual(['create']);

  const again = await runCliWithEnv(['apply', manifest, '--yes'], env);
  expect(again.code, again.stderr).toBe(0);
  expect(emulator.calls.get('ModelService.UploadModel')).toBe(1);
  expect(emulator.models.size).toBe(1);
  expect(emulator.endpoints.size).toBe(1);
  const [endpoint] = [...emulator.endpoints.values()];
  expect((endpoint?.['deployedModels'] as VertexObject[]).length).toBe(1);
  expect(Object.values(endpoint?.['trafficSplit'] as Record<string, number>)).toEqual([100]);

  const destroyed = await runCliWithEnv(['destroy', manifest, '--yes'], env);
  expect(destroyed.code, destroyed.stderr).toBe(0);
  expect(
    emulator.models.size + emulator.endpoints.size + emulator.gcs.list('modelport-examples-artifacts').length,
  ).toBe(0);
  emulator.assertNoViolations();
});
