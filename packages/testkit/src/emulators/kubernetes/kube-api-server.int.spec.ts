// The fake Kubernetes API server against the two clients it must satisfy: @kubernetes/client-node 1.4
// (tested in provider-kserve, which depends on it) and the real `kubectl` binary.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeKubeApiServer } from './kube-api-server.js';
import { writeKubeconfig } from './kubeconfig.js';

const run = promisify(execFile);

function isvc(name: string, labels: Record<string, string> = {}): Record<string, unknown> {
  return {
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: { name, labels },
    spec: { predictor: { model: { modelFormat: { name: 'onnx' }, storageUri: 's3://b/iris' } } },
  };
}

async function call(
  server: FakeKubeApiServer,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.token}`, 'content-type': contentType },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const BASE = '/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices';

describe('fake Kubernetes API server', () => {
  const server = new FakeKubeApiServer({ readyAfterReads: 2 });
  let dir = '';
  let kubeconfig = '';

  beforeAll(async () => {
    await server.start();
    dir = await mkdtemp(join(tmpdir(), 'modelport-kube-'));
    kubeconfig = await writeKubeconfig(join(dir, 'config'), server.url, server.token);
  });
  afterAll(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a wrong token', async () => {
    const response = await fetch(`${server.url}/api`, { headers: { authorization: 'Bearer wrong' } });
    expect(response.status).toBe(401);
  });

  it('creates, conflicts on a second create, and turns Ready after reads', async () => {
    expect((await call(server, 'POST', BASE, isvc('a', { app: 'x' }))).status).toBe(201);
    const again = await call(server, 'POST', BASE, isvc('a'));
    expect(again.status).toBe(409);
    expect(again.json['reason']).toBe('AlreadyExists');
    const first = await call(server, 'GET', `${BASE}/a`);
    expect(JSON.stringify(first.json['status'])).toContain('"Unknown"');
    const second = await call(server, 'GET', `${BASE}/a`);
    const status = second.json['status'] as { url: string; conditions: { type: string; status: string }[] };
    expect(status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(status.url).toBe('http://a.default.example.com');
    expect((second.json['metadata'] as Record<string, unknown>)['uid']).toBeTypeOf('string');
  });

  it('rejects a PUT with a stale resourceVersion and bumps generation on spec change', async () => {
    const current = (await call(server, 'GET', `${BASE}/a`)).json;
    const changed = structuredClone(current) as {
      spec: { predictor: Record<string, unknown> };
      metadata: Record<string, unknown>;
    };
    changed.spec.predictor['minReplicas'] = 2;
    const ok = await call(server, 'PUT', `${BASE}/a`, changed);
    expect(ok.status).toBe(200);
    expect((ok.json['metadata'] as Record<string, unknown>)['generation']).toBe(2);
    const stale = await call(server, 'PUT', `${BASE}/a`, changed);
    expect(stale.status).toBe(409);
    expect(stale.json['reason']).toBe('Conflict');
  });

  it('applies merge and JSON patches', async () => {
    const merged = await call(
      server,
      'PATCH',
      `${BASE}/a`,
      { metadata: { labels: { extra: 'y' } } },
      'application/merge-patch+json',
    );
    expect((merged.json['metadata'] as { labels: Record<string, string> }).labels).toEqual({
      app: 'x',
      extra: 'y',
    });
    const patched = await call(
      server,
      'PATCH',
      `${BASE}/a`,
      [{ op: 'replace', path: '/spec/predictor/minReplicas', value: 3 }],
      'application/json-patch+json',
    );
    expect((patched.json['spec'] as { predictor: { minReplicas: number } }).predictor.minReplicas).toBe(3);
  });

  it('lists by label selector', async () => {
    await call(server, 'POST', BASE, isvc('b', { app: 'other' }));
    const list = await call(server, 'GET', `${BASE}?labelSelector=${encodeURIComponent('app=x')}`);
    expect((list.json['items'] as { metadata: { name: string } }[]).map((i) => i.metadata.name)).toEqual([
      'a',
    ]);
  });

  it('injects faults and readiness failures', async () => {
    server.failNext(1, 429);
    expect((await call(server, 'GET', `${BASE}/a`)).status).toBe(429);
    expect((await call(server, 'GET', `${BASE}/a`)).status).toBe(200);
    server.setReadiness('default', 'c', {
      mode: 'fail',
      reason: 'ImagePullBackOff',
      message: 'no such image',
    });
    await call(server, 'POST', BASE, isvc('c'));
    const failed = (await call(server, 'GET', `${BASE}/c`)).json['status'] as {
      conditions: { type: string; status: string; reason: string }[];
    };
    expect(failed.conditions.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ImagePullBackOff',
    });
  });

  it('deletes, then answers 404', async () => {
    expect((await call(server, 'DELETE', `${BASE}/c`)).status).toBe(200);
    expect((await call(server, 'GET', `${BASE}/c`)).status).toBe(404);
    expect((await call(server, 'DELETE', `${BASE}/c`)).status).toBe(404);
  });

  it('is accepted by kubectl get inferenceservices -o yaml', async () => {
    const { stdout } = await run(
      'kubectl',
      ['--kubeconfig', kubeconfig, '--request-timeout=5s', 'get', 'inferenceservices', '-o', 'yaml'],
      {
        env: { ...process.env, HOME: dir, KUBECACHEDIR: join(dir, 'cache') },
      },
    );
    expect(stdout).toContain('kind: InferenceService');
    expect(stdout).toContain('name: a');
  });
});
