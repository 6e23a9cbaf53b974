// The Vertex AI endpoint lifecycle against the emulator, through the real gRPC clients: apply uploads the
// model to GCS, uploads the model, creates the endpoint, deploys with dedicated resources and autoscaling,
// and gives it the traffic; re-apply is all no-op with zero writes; predict answers what the runtime
// answers; a changed model rolls out as a canary; destroy undeploys, deletes the endpoint, then the model.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { referencePredictions } from '@modelport/testkit';
import type { VertexObject } from '@modelport/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './testing/harness.js';
import { IRIS_MODEL, ROOT, startHarness } from './testing/harness.js';

let h: Harness;
const ENDPOINT = 'projects/modelport-examples/locations/us-central1/endpoints/iris';

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.stop();
});

const kinds = (plans: { actions: { kind: string; type: string }[] }[]) =>
  plans.flatMap((p) => p.actions.map((a) => `${a.kind} ${a.type}`));

function endpoint(): VertexObject {
  return h.emulator.endpoints.get(ENDPOINT) as VertexObject;
}

function deployed(): VertexObject[] {
  return (endpoint()['deployedModels'] ?? []) as VertexObject[];
}

describe('Vertex AI endpoint', { sequential: true }, () => {
  let manifest: string;
  let payload: Buffer;

  it('applies the iris example: model folder, model, endpoint, deployed model and traffic, all labelled', async () => {
    manifest = await h.manifest('iris-endpoint.yaml', 'endpoint.yaml', [
      ['bakeTimeSeconds: 300', 'bakeTimeSeconds: 1'],
    ]);
    const mp = h.modelport();
    const [plan] = await mp.plan(manifest);
    expect(plan?.actions.map((a) => `${a.kind} ${a.type}`)).toEqual([
      'create gcs:ModelFolder',
      'create vertex:Model',
      'create vertex:Endpoint',
      'create vertex:DeployedModel',
      'create vertex:TrafficSplit',
    ]);
    const [outcome] = await mp.apply(manifest);
    expect(outcome?.result.failed).toEqual([]);
    expect(endpoint()['labels']).toEqual({
      team: 'examples',
      'cost-center': 'ml-platform',
      'modelport_2edev_2fmanaged-by': 'modelport',
      modelport_2edev_2fname: 'iris',
      modelport_2edev_2fkind: '_45ndpoint',
      'modelport_2edev_2fspec-hash': expect.stringMatching(/^[0-9a-f]{12}$/),
    });
    const [d] = deployed();
    expect(d?.['dedicatedResources']).toMatchObject({
      machineSpec: { machineType: 'n1-standard-2' },
      minReplicaCount: 1,
      maxReplicaCount: 4,
      autoscalingMetricSpecs: [
        { metricName: 'aiplatform.googleapis.com/prediction/online/cpu/utilization', target: 60 },
      ],
    });
    expect(endpoint()['trafficSplit']).toEqual({ [String(d?.['id'])]: 100 });
    const [model] = [...h.emulator.models.values()];
    expect(model?.['containerSpec']).toMatchObject({
      imageUri: 'us-central1-docker.pkg.dev/modelport-examples/modelport/modelport-serving:0.1.0',
      predictRoute: '/predict',
      healthRoute: '/health',
      ports: [{ containerPort: 8080 }],
    });
    const files = h.emulator.gcs
      .list('modelport-examples-artifacts', 'modelport/iris/artifacts/')
      .map((o) => o.name.split('/').pop());
    expect(files.sort()).toEqual(['model.onnx', 'signature.json']);
  });

  it('plans all no-op, and re-applying makes zero write calls', async () => {
    const mp = h.modelport();
    expect(new Set(kinds(await mp.plan(manifest)).map((k) => k.split(' ')[0]))).toEqual(new Set(['noop']));
    const writes = h.emulator.writeCalls();
    const [again] = await mp.apply(manifest);
    expect(again?.result.executions).toBe(0);
    expect(h.emulator.writeCalls()).toBe(writes);
  });

  it('predicts what the modelport runtime predicts, and says which deployed model answered', async () => {
    payload = await readFile(join(ROOT, 'examples/iris/payload.json'));
    const response = await h.modelport().invoke(manifest, { body: payload, contentType: 'application/json' });
    expect(response.servedBy).toBe(String(deployed()[0]?.['id']));
    const expected = await referencePredictions(
      IRIS_MODEL,
      (JSON.parse(payload.toString()) as { instances: unknown[] }).instances,
    );
    expect(JSON.parse(Buffer.from(response.body).toString('utf8'))).toEqual(expected);
    const [status] = await h.modelport().status(manifest);
    expect(status?.state).toBe('ready');
  });

  it('refuses a payload above the shared endpoint limit (1.5 MB) before sending it', async () => {
    const calls = h.emulator.totalCalls();
    const big = Buffer.from(
      JSON.stringify({ instances: Array.from({ length: 90_000 }, () => [5.1, 3.5, 1.4, 0.2]) }),
    );
    const error = await h
      .modelport()
      .invoke(manifest, { body: big, contentType: 'application/json' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'invalidInput', message: expect.stringContaining('1.5 MB') });
    // Plan reads happen (the manifest is observed), the predict is never sent.
    expect(h.emulator.calls.get('PredictionService.Predict')).toBe(1);
    expect(h.emulator.totalCalls()).toBeGreaterThanOrEqual(calls);
  });

  it('rolls a changed model out as a canary: 20% for the bake time, then all, then the old one goes', async () => {
    const changed = await h.manifest('iris-endpoint.yaml', 'changed.yaml', [
      ['bakeTimeSeconds: 300', 'bakeTimeSeconds: 1'],
      ['timeoutSeconds: 30', 'timeoutSeconds: 20'],
    ]);
    const oldId = String(deployed()[0]?.['id']);
    const splits: Record<string, number>[] = [];
    const stop = h.emulator.faults.onCall((call, phase) => {
      if (phase === 'after' && call.method === 'UpdateEndpoint')
        splits.push({ ...(endpoint()['trafficSplit'] as Record<string, number>) });
    });
    const [plan] = await h.modelport().plan(changed);
    const changes = plan?.actions.filter((a) => a.kind !== 'noop') ?? [];
    expect(changes.map((a) => `${a.kind} ${a.type}`).sort()).toEqual([
      'create vertex:DeployedModel',
      'create vertex:Model',
      'delete vertex:DeployedModel',
      'delete vertex:Model',
      'update vertex:TrafficSplit',
    ]);
    // The old model goes only once the deployed model that serves it is undeployed.
    const oldModel = changes.find((a) => a.kind === 'delete' && a.type === 'vertex:Model');
    expect(oldModel?.dependsOn).toContain(
      changes.find((a) => a.kind === 'delete' && a.type === 'vertex:DeployedModel')?.id,
    );
    const [outcome] = await h.modelport().apply(changed);
    stop();
    expect(outcome?.result.failed).toEqual([]);
    const [current] = deployed();
    const newId = String(current?.['id']);
    expect(deployed()).toHaveLength(1);
    expect(newId).not.toBe(oldId);
    expect(splits).toEqual([{ [oldId]: 80, [newId]: 20 }, { [newId]: 100 }]);
    expect(h.emulator.models.size).toBe(1);
    expect(new Set(kinds(await h.modelport().plan(changed)).map((k) => k.split(' ')[0]))).toEqual(
      new Set(['noop']),
    );
    manifest = changed;
  });

  it('changes replicas and the autoscaling target in place (MutateDeployedModel), with no new deployment', async () => {
    const scaled = await h.manifest('iris-endpoint.yaml', 'scaled.yaml', [
      ['bakeTimeSeconds: 300', 'bakeTimeSeconds: 1'],
      ['timeoutSeconds: 30', 'timeoutSeconds: 20'],
      ['maxReplicas: 4', 'maxReplicas: 6'],
      ['target: 60', 'target: 70'],
    ]);
    const before = deployed()[0];
    const [plan] = await h.modelport().plan(scaled);
    expect(plan?.actions.filter((a) => a.kind !== 'noop').map((a) => `${a.kind} ${a.type}`)).toEqual([
      'update vertex:DeployedModel',
    ]);
    expect((await h.modelport().apply(scaled))[0]?.result.ok).toBe(true);
    const [after] = deployed();
    expect(after?.['id']).toBe(before?.['id']);
    expect(after?.['dedicatedResources']).toMatchObject({
      maxReplicaCount: 6,
      autoscalingMetricSpecs: [{ target: 70 }],
    });
    expect(new Set(kinds(await h.modelport().plan(scaled)).map((k) => k.split(' ')[0]))).toEqual(
      new Set(['noop']),
    );
    manifest = scaled;
  });

  it('destroys in order: undeploy, delete the endpoint, then the model, then its files', async () => {
    const order: string[] = [];
    const stop = h.emulator.faults.onCall((call, phase) => {
      if (phase === 'after' && /^(UndeployModel|DeleteEndpoint|DeleteModel)$/.test(call.method))
        order.push(call.method);
      if (phase === 'before' && call.service === 'storage' && call.method.startsWith('DELETE'))
        order.push('delete object');
    });
    const [outcome] = await h.modelport().destroy(manifest);
    stop();
    expect(outcome?.result.ok).toBe(true);
    expect(order.filter((o, i) => o !== order[i - 1])).toEqual([
      'UndeployModel',
      'DeleteEndpoint',
      'DeleteModel',
      'delete object',
    ]);
    expect(h.emulator.endpoints.size + h.emulator.models.size).toBe(0);
    expect(h.emulator.gcs.list('modelport-examples-artifacts')).toEqual([]);
    h.emulator.assertNoViolations();
  });
});

describe('dedicated endpoint', { sequential: true }, () => {
  it('takes requests up to 10 MB (above the shared 1.5 MB) and refuses larger ones before sending', async () => {
    const manifest = await h.manifest('iris-endpoint.yaml', 'dedicated.yaml', [
      [/name: iris$/m, 'name: iris-dedicated'],
      ['payloadMB: 1.5', 'payloadMB: 10'],
      [
        'bucket: modelport-examples-artifacts',
        'bucket: modelport-examples-artifacts\n      dedicatedEndpoint: true',
      ],
    ]);
    expect((await h.modelport().apply(manifest))[0]?.result.ok).toBe(true);
    const stored = h.emulator.endpoints.get(
      'projects/modelport-examples/locations/us-central1/endpoints/iris-dedicated',
    );
    expect(stored?.['dedicatedEndpointEnabled']).toBe(true);
    const rows = (n: number) =>
      Buffer.from(JSON.stringify({ instances: Array.from({ length: n }, () => [5.1, 3.5, 1.4, 0.2]) }));
    const medium = rows(90_000);
    expect(medium.byteLength).toBeGreaterThan(1.5 * 1024 * 1024);
    const answer = await h.modelport().invoke(manifest, { body: medium, contentType: 'application/json' });
    expect(
      (JSON.parse(Buffer.from(answer.body).toString('utf8')) as { predictions: unknown[] }).predictions,
    ).toHaveLength(90_000);
    const predicts = h.emulator.calls.get('PredictionService.Predict');
    const error = await h
      .modelport()
      .invoke(manifest, { body: Buffer.alloc(11 * 1024 * 1024, 32), contentType: 'application/json' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'invalidInput' });
    expect(h.emulator.calls.get('PredictionService.Predict')).toBe(predicts);
    await h.modelport().destroy(manifest);
  });
});
