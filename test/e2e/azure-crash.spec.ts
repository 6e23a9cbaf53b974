// The CLI killed (SIGKILL) between creating the endpoint and creating its deployment: nothing is rolled back
// (the process is gone), and re-applying converges from what Azure holds — found by its tags — with no
// duplicates (the endpoint, still provisioning when the CLI died, is not created again).
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AzureCloud } from './azure-helpers.js';
import { azureEnv, azureManifest, runAzureCli, spawnAzureCli, startAzureCloud } from './azure-helpers.js';
import type { Workspace } from './helpers.js';
import { createWorkspace } from './helpers.js';

let cloud: AzureCloud;
let ws: Workspace;

beforeAll(async () => {
  cloud = await startAzureCloud();
  ws = await createWorkspace('azure-crash');
});

afterAll(async () => {
  await cloud?.stop();
  await ws?.cleanup();
});

it('re-apply after a crash between the endpoint and the deployment converges with no duplicates', async () => {
  const manifest = await azureManifest('iris-online.yaml', join(ws.dir, 'iris.yaml'), [
    [/ {2}scaling:\n(?: {4}.*\n)+/, ''],
  ]);
  const env = azureEnv(cloud, ws.stateDir);
  const child = spawnAzureCli(['apply', manifest, '--yes'], env);
  ws.trackPid(child.pid);
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, signal) => resolve(signal)),
  );
  cloud.emulator.faults.onCall((call, phase) => {
    if (call.operation === 'PUT onlineEndpoints' && phase === 'after') child.kill('SIGKILL');
  });
  expect(await exited).toBe('SIGKILL');
  cloud.emulator.faults.reset();
  expect(cloud.emulator.list('onlineEndpoints')).toHaveLength(1);
  expect(cloud.emulator.list('onlineEndpoints/deployments')).toHaveLength(0);

  const plan = await runAzureCli(['--output', 'json', 'plan', manifest], env);
  expect(plan.code, plan.stderr).toBe(0);
  const actions = (JSON.parse(plan.stdout) as { plans: { actions: { kind: string; type: string }[] }[] })
    .plans[0]?.actions;
  expect(actions?.find((a) => a.type === 'azureml:OnlineEndpoint')?.kind).toBe('noop');
  expect(actions?.filter((a) => a.kind === 'create').map((a) => a.type)).toContain(
    'azureml:OnlineDeployment',
  );
  // The endpoint exists with an empty traffic map: the map is updated, not created.
  expect(actions?.find((a) => a.type === 'azureml:Traffic')?.kind).toBe('update');

  const again = await runAzureCli(['apply', manifest, '--yes'], env);
  expect(again.code, again.stderr).toBe(0);
  expect(cloud.emulator.calls('PUT onlineEndpoints')).toBe(2); // the create, then the traffic map
  expect(cloud.emulator.list('models/versions')).toHaveLength(1);
  expect(cloud.emulator.list('environments/versions')).toHaveLength(1);
  expect(cloud.emulator.list('onlineEndpoints/deployments')).toHaveLength(1);
  expect(
    (cloud.emulator.find('onlineEndpoints', 'iris')?.body['properties'] as { provisioningState: string })
      .provisioningState,
  ).toBe('Succeeded');

  const destroyed = await runAzureCli(['destroy', manifest, '--yes'], env);
  expect(destroyed.code, destroyed.stderr).toBe(0);
  expect(cloud.emulator.list('models/versions').length + cloud.emulator.list('onlineEndpoints').length).toBe(
    0,
  );
  cloud.emulator.assertNoViolations();
});
