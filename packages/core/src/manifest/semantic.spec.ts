import { describe, expect, it } from 'vitest';

import type { Capabilities, ModeCapabilities } from '../capabilities.js';
import { UNSUPPORTED_MODE } from '../capabilities.js';
import type { Diagnostic } from './diagnostics.js';
import { loadManifestText } from './loader.js';

// Declarations shaped like the real ones (core imports no provider).
const mode = (overrides: Partial<ModeCapabilities> = {}): ModeCapabilities => ({
  support: 'native',
  maxPayloadMB: 6,
  maxTimeoutSeconds: 60,
  scaleToZero: false,
  autoscaling: true,
  rolloutStrategies: ['replace'],
  shadow: false,
  accelerators: ['nvidia-t4', 'nvidia-a100'],
  ...overrides,
});
const provider = (id: string, overrides: Partial<Capabilities> = {}): Capabilities => ({
  provider: id,
  displayName: `the ${id} provider`,
  requiresRegion: false,
  regions: [],
  modelFormats: ['onnx', 'container', 'tensorflow'],
  modelUriSchemes: ['file', 's3'],
  maxNameLength: 40,
  endpoint: { realtime: mode(), serverless: mode({ accelerators: [] }), async: UNSUPPORTED_MODE },
  batch: {
    support: 'native',
    engines: ['x'],
    defaultEngine: 'x',
    formats: ['jsonl'],
    schedule: false,
    triggerOnNewInput: false,
  },
  requiredExtensions: [],
  ...overrides,
});
const CPU_ONLY: ModeCapabilities = mode({ accelerators: [] });
const CAPS: Record<string, Capabilities> = {
  aws: provider('aws', {
    instances: [
      { name: 'ml.m5.xlarge', vcpus: 4, memoryGiB: 16 },
      { name: 'ml.g4dn.xlarge', vcpus: 4, memoryGiB: 16, accelerator: { type: 'nvidia-t4', count: 1 } },
      { name: 'ml.p4d.24xlarge', vcpus: 96, memoryGiB: 1152, accelerator: { type: 'nvidia-a100', count: 8 } },
    ],
  }),
  gcp: provider('gcp'),
  kserve: provider('kserve'),
  local: provider('local', {
    modelFormats: ['onnx'],
    endpoint: { realtime: CPU_ONLY, serverless: CPU_ONLY, async: CPU_ONLY },
  }),
  acme: provider('acme'),
};

function diagnostics(spec: string, kind = 'Endpoint'): Diagnostic[] {
  const text = [
    'apiVersion: modelport.dev/v1alpha1',
    `kind: ${kind}`,
    'metadata:',
    '  name: iris',
    'spec:',
    ...spec
      .trim()
      .split('\n')
      .map((line) => `  ${line}`),
    ...(kind === 'BatchJob' ? ['  batch:', '    input: ./in', '    output: ./out'] : []),
    '',
  ].join('\n');
  return loadManifestText(
    text,
    { file: '/work/iris.yaml', baseDir: '/work' },
    { installedProviders: Object.keys(CAPS), capabilitiesOf: (id) => CAPS[id] },
  ).diagnostics;
}

const cpuOnly = (d: Diagnostic[]) => d.filter((x) => x.code === 'capability.cpuOnlyImage');

describe('GPUs asked of the portable serving image', () => {
  it('refuses an accelerator for ONNX without an image on a cloud, at the accelerator, naming the cost', () => {
    const found = diagnostics(`
model: { format: onnx, uri: ./model.onnx }
target: { provider: aws }
compute:
  cpu: 4
  accelerator: { type: nvidia-t4, count: 2 }
`);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      severity: 'error',
      code: 'capability.cpuOnlyImage',
      path: 'spec.compute.accelerator',
      line: 10,
      column: 5,
    });
    expect(found[0]?.message).toMatch(/portable serving image, which runs on CPU only/);
    expect(found[0]?.message).toMatch(/the 2× nvidia-t4 GPUs would be billed and sit idle/);
    expect(found[0]?.hint).toMatch(/GPU-capable serving image.*or remove compute\.accelerator/);
  });

  it('refuses a GPU instance type of the provider catalog, at the instance type', () => {
    const found = diagnostics(`
model: { format: onnx, uri: ./model.onnx }
target: { provider: aws }
compute:
  instanceType: ml.p4d.24xlarge
`);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      severity: 'error',
      path: 'spec.compute.instanceType',
      line: 9,
      column: 19,
    });
    expect(found[0]?.message).toMatch(/the 8× nvidia-a100 GPUs of ml\.p4d\.24xlarge would be billed/);
    expect(found[0]?.hint).toMatch(/an instance type without GPUs/);
    expect(
      diagnostics(`
model: { format: onnx, uri: ./model.onnx }
target: { provider: aws }
compute: { instanceType: ml.m5.xlarge }
`),
    ).toEqual([]);
  });

  it('refuses it for batch jobs too', () => {
    const found = diagnostics(
      `
model: { format: onnx, uri: ./model.onnx }
target: { provider: gcp }
compute:
  accelerator: { type: nvidia-t4 }
`,
      'BatchJob',
    );
    expect(found.map((d) => [d.severity, d.code])).toEqual([['error', 'capability.cpuOnlyImage']]);
    expect(found[0]?.message).toMatch(/the 1× nvidia-t4 GPU would be billed/);
  });

  it('warns, with the same words, when spec.model.image names the portable image', () => {
    for (const target of ['aws', 'kserve', 'acme']) {
      const found = diagnostics(`
model:
  format: onnx
  uri: ./model.onnx
  image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/modelport-serving:0.1.0
target: { provider: ${target} }
compute:
  accelerator: { type: nvidia-t4 }
`);
      expect(found.map((d) => [d.severity, d.code])).toEqual([['warning', 'capability.cpuOnlyImage']]);
      expect(found[0]?.message).toMatch(
        /modelport-serving:0\.1\.0 is the portable serving image, which runs on CPU only.*would be billed and sit idle/,
      );
    }
  });

  it('lets GPUs through for other images, framework images, KServe runtimes and plugins', () => {
    const gpu = 'compute:\n  accelerator: { type: nvidia-t4 }';
    expect(
      diagnostics(`
model: { format: onnx, uri: ./model.onnx, image: nvcr.io/nvidia/tritonserver:24.08-py3 }
target: { provider: aws }
${gpu}
`),
    ).toEqual([]);
    expect(
      diagnostics(`
model: { format: tensorflow, uri: ./saved }
target: { provider: gcp }
${gpu}
`),
    ).toEqual([]);
    // Without an image, KServe loads ONNX with a ServingRuntime of the cluster; with `runtime`, it ignores the image.
    expect(
      diagnostics(`
model: { format: onnx, uri: s3://m/model.onnx }
target: { provider: kserve }
${gpu}
`),
    ).toEqual([]);
    expect(
      diagnostics(`
model: { format: onnx, uri: s3://m/model.onnx, image: ghcr.io/modelport/modelport-serving:0.1.0 }
target: { provider: kserve }
${gpu}
extensions: { kserve: { runtime: kserve-onnxruntime } }
`),
    ).toEqual([]);
    expect(
      diagnostics(`
model: { format: onnx, uri: ./model.onnx }
target: { provider: acme }
${gpu}
`),
    ).toEqual([]);
  });

  it('leaves an accelerator the mode cannot attach to the capability error alone', () => {
    const found = diagnostics(`
mode: serverless
model: { format: onnx, uri: ./model.onnx }
target: { provider: aws }
compute:
  accelerator: { type: nvidia-t4 }
`);
    expect(found.map((d) => d.code)).toEqual(['capability.accelerator']);
    expect(cpuOnly(found)).toEqual([]);
  });

  it('the local provider refuses accelerators for endpoints and batch jobs alike (it runs on CPU)', () => {
    const endpoint = diagnostics(`
model: { format: onnx, uri: ./model.onnx }
compute:
  accelerator: { type: nvidia-t4 }
`);
    expect(endpoint.map((d) => [d.code, d.path])).toEqual([
      ['capability.accelerator', 'spec.compute.accelerator.type'],
    ]);
    const batch = diagnostics(
      `
model: { format: onnx, uri: ./model.onnx }
compute:
  accelerator: { type: nvidia-t4 }
`,
      'BatchJob',
    );
    expect(batch.map((d) => [d.code, d.path])).toEqual([
      ['capability.accelerator', 'spec.compute.accelerator.type'],
    ]);
    expect(batch[0]?.message).toMatch(/runs on CPU only/);
  });
});
