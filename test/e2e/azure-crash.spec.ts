// The CLI killed (SIGKILL) between creating the endpoint and creating its deployment: nothing is rolled back
// (the process is gone), and re-applying converges from what Azure holds — found by its tags — with no
// duplicates (the endpoint, still provisioning when the CLI died, is not created again).
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AzureCloud } from './azure-helpers.js';
import { AZURE_EXAMPLES, azureEnv, startAzureCloud } from './azure-helpers.js';
import type { Workspace } from './helpers.js';
import { crashCli, createWorkspace, exampleManifest, firstPlanActions, runCliWithEnv } from './helpers.js';

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
  const manifest = await exampleManifest(AZURE_EXAMPLES, 'iris-online.yaml', join(ws.dir, 'iris.yaml'), [
    [/ {2}scaling:\n(?: {4}.*\n)+/, ''],
  ]);
  const env = azureEnv(cloud, ws.stateDir);
  const signal = await crashCli(ws, ['apply', manifest, '--yes'], env, (kill) =>
    cloud.emulator.faults.onCall((call, phase) => {
      if (call.operation === 'PUT onlineEndpoints' && phase === 'after') kill();
    }),
  );
  expect(signal).toBe('SIGKILL');
  cloud.emulator.faults.reset();
  expect(cloud.emulator.list('onlineEndpoints')).toHaveLength(1);
  expect(cloud.emulator.list('onlineEndpoints/deployments')).toHaveLength(0);

  const plan = await runCliWithEnv(['--output', 'json', 'plan', manifest], env);
  expect(plan.code, plan.stderr).toBe(0);
  const actions = firstPlanActions(plan.stdout);
  expect(actions?.find((a) => a.type === 'azureml:OnlineEndpoint')?.kind).toBe('noop');
  expect(actions?.filter((a) => a.kind === 'create').map((a) => a.type)).toContain(
    'azureml:OnlineDeployment',
  );
  // The endpoint exists with an empty traffic map: the map is updated, not created.
  expect(actions?.find((a) => a.type === 'azureml:Traffic')?.kind).toBe('update');

  const again = await runCliWithEnv(['apply', manifest, '--yes'], env);
  expect(again.code, again.stderr).toBe(0);
  expect(cloud.emulator.calls('PUT onlineEndpoints')).toBe(2); // the create, then the traffic map
  expect(cloud.emulator.list('models/versions')).toHaveLength(1);
  expect(cloud.emulator.list('environments/versions')).toHaveLength(1);
  expect(cloud.emulator.list('onlineEndpoints/deployments')).toHaveLength(1);
  expect(
    (cloud.emulator.find('onlineEndpoints', 'iris')?.body['properties'] as { provisioningState: string })
      .provisioningState,
  ).toBe('Succeeded');

  const destroyed = await runCliWithEnv(['destroy', manifest, '--yes'], env);
  expect(destroyed.code, destroyed.stderr).toBe(0);
  expect(cloud.emulator.list('models/versions').length + cloud.emulator.list('onlineEndpoints').length).toBe(
    0,
  );
  cloud.emulator.assertNoViolations();
});
