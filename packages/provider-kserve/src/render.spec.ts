// Rendered InferenceServices against the CRD's own OpenAPI v3 schema (the file KServe installs).
import { TAGS, specHash } from '@modelport/core';
import type { ValidateFunction } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { desiredProperties, renderInferenceService } from './render.js';
import { crdValidator } from './testing/crd-schema.js';
import { HAVE_CRD, irisText, loadKserve } from './testing/manifests.js';

let validate: ValidateFunction;

beforeAll(() => {
  if (HAVE_CRD) validate = crdValidator();
});

function valid(resource: unknown): boolean {
  const ok = validate(resource);
  if (!ok) console.error(JSON.stringify(validate.errors, null, 2));
  return ok;
}

// The cases that check the rendered object against the CRD skip without it (a clone without ../shared/specs).
const withCrd = it.skipIf(!HAVE_CRD);

describe('renderInferenceService', () => {
  withCrd('renders the iris example as the modelport serving image, valid against the CRD', () => {
    const isvc = renderInferenceService(loadKserve(irisText()));
    expect(valid(isvc)).toBe(true);
    expect(isvc.metadata).toMatchObject({ name: 'iris', namespace: 'models' });
    expect(isvc.metadata.labels).toMatchObject({
      team: 'examples',
      [TAGS.managedBy]: 'modelport',
      [TAGS.name]: 'iris',
      [TAGS.kind]: 'Endpoint',
    });
    expect(isvc.metadata.labels[TAGS.specHash]).toBe(specHash(desiredProperties(loadKserve(irisText()))));
    expect(isvc.spec).toEqual({
      predictor: {
        minReplicas: 1,
        maxReplicas: 4,
        scaleMetric: 'concurrency',
        scaleTarget: 10,
        timeout: 30,
        containers: [
          {
            name: 'kserve-container',
            image: 'ghcr.io/modelport/modelport-serving:0.1.0',
            ports: [{ containerPort: 8080, protocol: 'TCP' }],
            // The folder the storage initializer fills, whatever the URI names (audit A15).
            args: ['--model', '/mnt/models', '--name', 'iris', '--max-payload-mb', '6', '--timeout-s', '30'],
            env: [
              { name: 'STORAGE_URI', value: 's3://modelport-models/iris/model.onnx' },
              { name: 'MODELPORT_PORT', value: '8080' },
            ],
            readinessProbe: { httpGet: { path: '/v1/models/iris', port: 8080 } },
            resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '1', memory: '2Gi' } },
          },
        ],
      },
    });
  });

  withCrd('renders a ServingRuntime model with GPUs and scale to zero, valid against the CRD', () => {
    const text = irisText([
      ['    image: ghcr.io/modelport/modelport-serving:0.1.0\n', ''],
      [
        '      namespace: models',
        '      namespace: models\n      runtime: kserve-onnxruntime\n      serviceAccountName: models-sa',
      ],
      ['  scaling:\n    minReplicas: 1', '  scaling:\n    scaleToZero: true\n    minReplicas: 0'],
      ['    memoryGiB: 2', '    memoryGiB: 2\n    accelerator:\n      type: nvidia-t4\n      count: 1'],
      ['metric: concurrency', 'metric: requestsPerReplica'],
    ]);
    const isvc = renderInferenceService(loadKserve(text));
    expect(valid(isvc)).toBe(true);
    expect(isvc.metadata.annotations).toEqual({ 'serving.kserve.io/deploymentMode': 'Serverless' });
    expect(isvc.spec['predictor']).toMatchObject({
      minReplicas: 0,
      scaleMetric: 'rps',
      serviceAccountName: 'models-sa',
      model: {
        modelFormat: { name: 'onnx' },
        runtime: 'kserve-onnxruntime',
        storageUri: 's3://modelport-models/iris/model.onnx',
        resources: { limits: { cpu: '1', memory: '2Gi', 'nvidia.com/gpu': '1' } },
      },
    });
  });

  withCrd('renders a canary as canaryTrafficPercent, valid against the CRD', () => {
    const text = irisText([['strategy: replace', 'strategy: canary\n    canaryPercent: 20']]);
    const isvc = renderInferenceService(loadKserve(text));
    expect(valid(isvc)).toBe(true);
    expect(isvc.spec['predictor']).toMatchObject({ canaryTrafficPercent: 20 });
  });

  withCrd('the schema check rejects a deliberately broken resource', () => {
    const isvc = renderInferenceService(loadKserve(irisText())) as unknown as {
      spec: { predictor: Record<string, unknown> };
    };
    const badMetric = structuredClone(isvc);
    badMetric.spec.predictor['scaleMetric'] = 'latency';
    expect(validate(badMetric)).toBe(false);
    expect(JSON.stringify(validate.errors)).toContain('/spec/predictor/scaleMetric');
    const badReplicas = structuredClone(isvc);
    badReplicas.spec.predictor['minReplicas'] = 'one';
    expect(validate(badReplicas)).toBe(false);
    expect(JSON.stringify(validate.errors)).toContain('/spec/predictor/minReplicas');
  });

  it('refuses a local model path with a capability error naming the URI schemes', () => {
    expect(() =>
      loadKserve(irisText([['s3://modelport-models/iris/model.onnx', '../iris/model.onnx']])),
    ).toThrow(/cannot read models from a local path/);
  });

  it('refuses a scale metric KServe does not have', () => {
    // Validation refuses it (the capabilities list the metrics); the renderer again, for a manifest that
    // reached it without validation.
    expect(() => loadKserve(irisText([['metric: concurrency', 'metric: gpuUtilization']]))).toThrow(
      /KServe cannot autoscale realtime endpoints on gpuUtilization/,
    );
    const loaded = loadKserve(irisText());
    const scaling = (loaded.manifest.spec as { scaling?: { metric?: string } }).scaling;
    if (scaling === undefined) throw new Error('the KServe example has no scaling');
    scaling.metric = 'gpuUtilization';
    expect(() => renderInferenceService(loaded)).toThrow(/cannot scale on gpuUtilization/);
  });
});
