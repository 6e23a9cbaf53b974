// The emulator itself, on the wire with plain HTTPS requests: schema checks against the official ARM
// schema (violations answered 400 and recorded), throttling headers, and the workspace's datastore.
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArmValidator, azureSpecsDir } from './arm-validator.js';
import { AzureEmulator } from './azure-emulator.js';
import { words } from './command-jobs.js';

const WS =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws';
const API = '?api-version=2022-10-01';

let emulator: AzureEmulator;

beforeAll(async () => {
  emulator = new AzureEmulator();
  await emulator.start();
});

afterAll(async () => {
  await emulator?.stop();
});

function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; headers: Record<string, unknown>; json: unknown }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      `${emulator.url}${path}`,
      {
        method,
        ca: emulator.ca,
        headers: {
          authorization: 'Bearer x',
          ...(data === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            json: text === '' ? undefined : (JSON.parse(text) as unknown),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

describe('ARM schema validation', () => {
  const dir = azureSpecsDir();

  it('finds the official schemas in ../shared/specs/azure', () => {
    expect(dir).toBeDefined();
    expect(emulator.validating).toBe(true);
  });

  it('accepts a managed online deployment (the discriminated union is loaded without its stray additionalProperties)', () => {
    const validator = new ArmValidator(dir as string);
    const errors = validator.validate(
      'workspaces_onlineEndpoints_deployments',
      'blue',
      'Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments',
      {
        location: 'eastus',
        sku: { name: 'Default', capacity: 1 },
        properties: {
          endpointComputeType: 'Managed',
          instanceType: 'Standard_DS2_v2',
          scaleSettings: { scaleType: 'Default' },
        },
      },
    );
    expect(errors).toEqual([]);
  });

  it('answers 400 to a body that breaks the schema, and records it', async () => {
    const reply = await call('PUT', `${WS}/onlineEndpoints/bad${API}`, {
      location: 'eastus',
      properties: { authMode: 'Password' },
    });
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ error: { code: 'InvalidRequestContent' } });
    expect(emulator.violations).toHaveLength(1);
    expect(() => emulator.assertNoViolations()).toThrow(/authMode|enum|oneOf/);
    emulator.violations.length = 0;
  });

  it('refuses tag names ARM refuses (a `/` in the name), and records it', async () => {
    const reply = await call('PUT', `${WS}/onlineEndpoints/tagged${API}`, {
      location: 'eastus',
      tags: { 'modelport.dev/name': 'x' },
      properties: { authMode: 'Key' },
    });
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ error: { code: 'InvalidTagNameCharacters' } });
    expect(emulator.violations).toHaveLength(1);
    emulator.violations.length = 0;
  });

  it('refuses another api-version', async () => {
    const reply = await call('GET', `${WS}/onlineEndpoints/x?api-version=2021-01-01`);
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ error: { code: 'InvalidApiVersionParameter' } });
  });
});

describe('faults and state', () => {
  it('throttles with retry-after-ms and Retry-After, then answers', async () => {
    emulator.faults.throttle('GET onlineEndpoints', 1, 1500);
    const throttled = await call('GET', `${WS}/onlineEndpoints/none${API}`);
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after-ms']).toBe('1500');
    expect(throttled.headers['retry-after']).toBe('2');
    const after = await call('GET', `${WS}/onlineEndpoints/none${API}`);
    expect(after.status).toBe(404);
  });

  it('walks an endpoint Creating → Succeeded through Azure-AsyncOperation', async () => {
    const put = await call('PUT', `${WS}/onlineEndpoints/walk${API}`, {
      location: 'eastus',
      properties: { authMode: 'Key' },
    });
    expect(put.status).toBe(201);
    expect(put.json).toMatchObject({ properties: { provisioningState: 'Creating' } });
    const operation = String(put.headers['azure-asyncoperation']);
    expect(operation.startsWith(emulator.url)).toBe(true);
    await new Promise((r) => setTimeout(r, emulator.transitionMs + 10));
    const status = await call('GET', operation.slice(emulator.url.length));
    expect(status.json).toMatchObject({ status: 'Succeeded' });
    const got = await call('GET', `${WS}/onlineEndpoints/walk${API}`);
    expect(got.json).toMatchObject({ properties: { provisioningState: 'Succeeded', traffic: {} } });
    expect(emulator.writeCalls()).toBe(1);
  });
});

describe('batch deployments and command jobs', () => {
  it('refuses a batch deployment of a custom model without codeConfiguration (Azure needs a scoring script)', async () => {
    // Without storage the model's blob is not checked.
    expect(
      (
        await call('PUT', `${WS}/models/m/versions/1${API}`, {
          properties: {
            modelUri: 'azureml://datastores/workspaceblobstore/paths/m/model.onnx',
            modelType: 'custom_model',
          },
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await call('PUT', `${WS}/environments/e/versions/1${API}`, {
          properties: { image: 'modelportacr01.azurecr.io/modelport-serving:0.1.0', osType: 'Linux' },
        })
      ).status,
    ).toBe(201);
    const endpoint = await call('PUT', `${WS}/batchEndpoints/be${API}`, {
      location: 'eastus',
      properties: { authMode: 'AADToken' },
    });
    expect(endpoint.status).toBe(201);
    await new Promise((r) => setTimeout(r, emulator.transitionMs + 10));
    const deployment = {
      location: 'eastus',
      properties: {
        model: { referenceType: 'Id', assetId: `${WS}/models/m/versions/1` },
        environmentId: `${WS}/environments/e/versions/1`,
        compute: `${WS}/computes/cpu-cluster`,
      },
    };
    const refused = await call('PUT', `${WS}/batchEndpoints/be/deployments/d1${API}`, deployment);
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.json)).toMatch(
      /needs a scoring script \(codeConfiguration\.scoringScript\)/,
    );
    const withScript = await call('PUT', `${WS}/batchEndpoints/be/deployments/d1${API}`, {
      ...deployment,
      properties: {
        ...deployment.properties,
        codeConfiguration: { codeId: `${WS}/codes/c/versions/1`, scoringScript: 'score.py' },
      },
    });
    expect(withScript.status).toBeLessThan(300);
  });

  it('splits a command into words as a shell would for a simple command', () => {
    expect(
      words(`/opt/modelport/bin/node /opt/modelport/run.mjs batch --input '/mnt/a b' --x="c d"`),
    ).toEqual([
      '/opt/modelport/bin/node',
      '/opt/modelport/run.mjs',
      'batch',
      '--input',
      '/mnt/a b',
      '--x=c d',
    ]);
  });
});
