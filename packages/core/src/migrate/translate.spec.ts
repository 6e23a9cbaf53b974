import { describe, expect, it } from 'vitest';
import type { Capabilities, ModeCapabilities } from '../capabilities.js';
import { UNSUPPORTED_BATCH, UNSUPPORTED_MODE } from '../capabilities.js';
import { loadManifestText } from '../manifest/loader.js';
import { strictFailures } from './report.js';
import type { MigrateOptions } from './translate.js';
import { translateManifest } from './translate.js';

// Small declarations shaped like the real ones: enough to exercise every rule without loading providers.
const mode = (overrides: Partial<ModeCapabilities> = {}): ModeCapabilities => ({
  support: 'native',
  maxPayloadMB: 6,
  maxTimeoutSeconds: 60,
  scaleToZero: false,
  autoscaling: true,
  rolloutStrategies: ['replace', 'blue-green', 'canary'],
  shadow: false,
  accelerators: ['nvidia-t4'],
  ...overrides,
});
const batch = {
  ...UNSUPPORTED_BATCH,
  support: 'native' as const,
  engines: ['x'],
  defaultEngine: 'x',
  formats: ['jsonl' as const],
};
const cloud = (provider: string, overrides: Partial<Capabilities> = {}): Capabilities => ({
  provider,
  displayName: provider.toUpperCase(),
  requiresRegion: true,
  regions: [],
  modelFormats: ['onnx', 'container'],
  modelUriSchemes: ['file'],
  maxNameLength: 40,
  endpoint: { realtime: mode(), serverless: UNSUPPORTED_MODE, async: UNSUPPORTED_MODE },
  batch,
  requiredExtensions: [],
  ...overrides,
});

const CAPS: Record<string, Capabilities> = {
  aws: cloud('aws', {
    modelUriSchemes: ['file', 's3'],
    endpoint: {
      realtime: mode(),
      serverless: mode({ scaleToZero: true, rolloutStrategies: ['replace'] }),
      async: mode({ maxPayloadMB: 1024, maxTimeoutSeconds: 3600, scaleToZero: true }),
    },
    batch: {
      ...batch,
      engines: ['sagemaker-transform', 'aws-batch'],
      defaultEngine: 'sagemaker-transform',
      schedule: true,
    },
    requiredExtensions: ['roleArn', 'bucket'],
    instances: [
      { name: 'ml.c5.large', vcpus: 2, memoryGiB: 4 },
      { name: 'ml.m5.xlarge', vcpus: 4, memoryGiB: 16 },
      { name: 'ml.g4dn.xlarge', vcpus: 4, memoryGiB: 16, accelerator: { type: 'nvidia-t4', count: 1 } },
    ],
  }),
  gcp: cloud('gcp', {
    modelUriSchemes: ['file', 'gs'],
    endpoint: {
      realtime: mode({
        maxPayloadMB: 1.5,
        rolloutStrategies: ['replace', 'canary'],
        scalingMetrics: ['cpuUtilization', 'requestsPerReplica'],
      }),
      serverless: UNSUPPORTED_MODE,
      async: mode({ support: 'emulated', via: 'a batch prediction job', maxPayloadMB: 1024 }),
    },
    requiredExtensions: ['project'],
    instances: [
      { name: 'n1-standard-2', vcpus: 2, memoryGiB: 7.5 },
      { name: 'n1-standard-4', vcpus: 4, memoryGiB: 15 },
      { name: 'n1-highmem-4', vcpus: 4, memoryGiB: 26 },
      { name: 'n1-standard-4-t4', vcpus: 4, memoryGiB: 15, accelerator: { type: 'nvidia-t4', count: 1 } },
      { name: 'n1-highmem-8-t4', vcpus: 8, memoryGiB: 52, accelerator: { type: 'nvidia-t4', count: 1 } },
    ],
  }),
  local: cloud('local', {
    requiresRegion: false,
    modelFormats: ['onnx'],
    endpoint: {
      realtime: mode({ autoscaling: false, accelerators: [], rolloutStrategies: ['replace', 'blue-green'] }),
      serverless: mode({ support: 'emulated', autoscaling: false, accelerators: [] }),
      async: mode({ maxPayloadMB: 1024, autoscaling: false, accelerators: [] }),
    },
  }),
};

function migrate(text: string, to: string, extra: Partial<MigrateOptions> = {}) {
  return translateManifest(text, {
    to,
    capabilitiesOf: (id) => CAPS[id],
    installedProviders: Object.keys(CAPS),
    sourceFile: '/work/app/iris.yaml',
    ...extra,
  });
}

const AWS = `# The iris endpoint on SageMaker.
apiVersion: modelport.dev/v1alpha1
kind: Endpoint
metadata:
  name: iris # short on purpose
spec:
  mode: realtime
  model:
    format: onnx
    uri: s3://artifacts/iris/model.onnx
    image: 1234.dkr.ecr.us-east-1.amazonaws.com/modelport-serving:0.1.0
    signature:
      inputs:
        - { name: input, dtype: float32, shape: [-1, 4] }
  target:
    provider: aws
    region: us-east-1
  compute:
    instanceType: ml.m5.xlarge
  scaling:
    minReplicas: 1
    maxReplicas: 4
  traffic:
    strategy: blue-green
    shadowPercent: 10
  limits:
    payloadMB: 6
  extensions:
    aws:
      roleArn: arn:aws:iam::1234:role/sm
      bucket: artifacts
      rollbackAlarms: [five-xx]
      tags: { team: ml }
`;

function entry(result: ReturnType<typeof migrate>, path: string) {
  return result.report.entries.find((e) => e.path === path);
}

describe('translateManifest', () => {
  it('keeps comments, key order and flow style, and changes only what must change', () => {
    const { text } = migrate(AWS, 'gcp', {
      set: { 'spec.extensions.gcp.project': 'p1', 'spec.extensions.gcp.bucket': 'gbucket' },
    });
    expect(
      text.startsWith(
        '# The iris endpoint on SageMaker.\napiVersion: modelport.dev/v1alpha1\nkind: Endpoint',
      ),
    ).toBe(true);
    expect(text).toContain('name: iris # short on purpose');
    expect(text).toContain('- {name: input, dtype: float32, shape: [-1, 4]}');
    expect(text.indexOf('mode:')).toBeLessThan(text.indexOf('model:'));
    expect(text).toContain('provider: gcp');
    expect(text).toContain('region: us-east1');
  });

  it('reports every field of the input, with a line, and nothing twice', () => {
    const result = migrate(AWS, 'gcp');
    const paths = result.report.entries.map((e) => e.path);
    expect(new Set(paths).size).toBe(paths.length);
    for (const p of [
      'apiVersion',
      'metadata.name',
      'spec.model.signature.inputs.0.shape',
      'spec.limits.payloadMB',
      'spec.extensions.aws.tags.team',
    ])
      expect(paths).toContain(p);
    expect(result.report.entries.every((e) => typeof e.line === 'number')).toBe(true);
    expect(entry(result, 'spec.compute.instanceType')?.line).toBe(19);
  });

  it('translates an instance type through its specs to the smallest type of the target that satisfies them', () => {
    const result = migrate(AWS, 'gcp');
    expect(entry(result, 'spec.compute.instanceType')).toMatchObject({
      outcome: 'translated',
      from: 'ml.m5.xlarge',
      to: 'n1-highmem-4', // 4 vCPU, 16 GiB: n1-standard-4 has only 15
    });
    const gpu = migrate(AWS.replace('ml.m5.xlarge', 'ml.g4dn.xlarge'), 'gcp');
    expect(entry(gpu, 'spec.compute.instanceType')?.to).toBe('n1-highmem-8-t4');
  });

  it('gives a target without a catalog the resources themselves', () => {
    const { text, report } = migrate(AWS, 'local');
    expect(text).toMatch(/compute:\n {4}cpu: 4\n {4}memoryGiB: 16\n/);
    expect(report.entries.find((e) => e.path === 'spec.compute.instanceType')?.outcome).toBe('translated');
  });

  it('never drops a feature silently: shadow traffic and alarm rollback are reported, and --strict fails on them', () => {
    const result = migrate(AWS, 'gcp');
    expect(entry(result, 'spec.traffic.shadowPercent')).toMatchObject({ outcome: 'unsupported' });
    expect(result.text).not.toContain('shadowPercent');
    expect(entry(result, 'spec.traffic.strategy')).toMatchObject({
      outcome: 'lossy',
      from: 'blue-green',
      to: 'replace',
    });
    expect(entry(result, 'spec.extensions.aws.rollbackAlarms')?.outcome).toBe('lossy');
    expect(entry(result, 'spec.limits.payloadMB')).toMatchObject({ outcome: 'lossy', from: 6, to: 1.5 });
    expect(strictFailures(result.report).map((e) => e.path)).toEqual(
      expect.arrayContaining(['spec.traffic.shadowPercent', 'spec.limits.payloadMB']),
    );
  });

  it('moves cloud artifacts to the target store with a copy step, and leaves what only the user knows as TODOs', () => {
    const bare = migrate(AWS, 'gcp');
    expect(bare.report.todos.map((t) => t.path).sort()).toEqual([
      'spec.extensions.gcp.project',
      'spec.model.uri',
    ]);
    const filled = migrate(AWS, 'gcp', {
      set: { 'spec.extensions.gcp.project': 'p1', 'spec.extensions.gcp.bucket': 'gbucket' },
    });
    expect(filled.report.todos).toEqual([]);
    expect(filled.report.copies).toEqual([
      expect.objectContaining({ from: 's3://artifacts/iris/model.onnx', to: 'gs://gbucket/iris/model.onnx' }),
    ]);
    expect(filled.text).toContain('labels:\n        team: ml'); // the user's tags, as GCP labels
    expect(entry(filled, 'spec.model.image')?.outcome).toBe('translated');
    expect(filled.text).not.toContain('ecr');
  });

  it('leaves TODO values that validation refuses at their line, before the schema has its say', () => {
    const { text } = migrate(AWS, 'gcp');
    const result = loadManifestText(
      text,
      { file: 'out.yaml', baseDir: '/work/app' },
      {
        installedProviders: Object.keys(CAPS),
        capabilitiesOf: (id) => CAPS[id],
      },
    );
    const todo = result.diagnostics.filter((d) => d.code === 'migrate.todo');
    expect(todo.map((d) => d.path).sort()).toEqual(['spec.extensions.gcp.project', 'spec.model.uri']);
    expect(todo.every((d) => d.line > 1)).toBe(true);
    expect(result.diagnostics.every((d) => d.code === 'migrate.todo')).toBe(true);
  });

  it('follows the target declaration for async: emulation with consent, or realtime when there is none', () => {
    const async = AWS.replace('mode: realtime', 'mode: async').replace(
      '  limits:',
      '  async:\n    maxPayloadMB: 500\n  limits:',
    );
    const toGcp = migrate(async, 'gcp');
    expect(entry(toGcp, 'spec.mode')?.outcome).toBe('lossy');
    expect(toGcp.text).toContain('allowEmulation: true');
    const toNone = migrate(async, 'gcp', {
      capabilitiesOf: (id) =>
        id === 'gcp'
          ? { ...CAPS['gcp']!, endpoint: { ...CAPS['gcp']!.endpoint, async: UNSUPPORTED_MODE } }
          : CAPS[id],
    });
    expect(entry(toNone, 'spec.mode')).toMatchObject({ outcome: 'unsupported', to: 'realtime' });
    expect(toNone.text).not.toContain('maxPayloadMB');
  });

  it('moves a scaling metric the target does not have to its request metric, and says so', () => {
    const result = migrate(
      AWS.replace('maxReplicas: 4', 'maxReplicas: 4\n    metric: concurrency\n    target: 5'),
      'gcp',
    );
    expect(entry(result, 'spec.scaling.metric')).toMatchObject({
      outcome: 'lossy',
      from: 'concurrency',
      to: 'requestsPerReplica',
    });
    expect(result.text).toContain('metric: requestsPerReplica');
  });

  it('turns serverless into realtime on a target without it, and says scale to zero is lost', () => {
    const serverless = AWS.replace('mode: realtime', 'mode: serverless').replace(
      'minReplicas: 1',
      'minReplicas: 0\n    scaleToZero: true',
    );
    const result = migrate(serverless, 'gcp');
    expect(entry(result, 'spec.mode')).toMatchObject({ outcome: 'lossy', to: 'realtime' });
    expect(entry(result, 'spec.scaling.scaleToZero')?.outcome).toBe('lossy');
    expect(result.text).toContain('minReplicas: 1');
  });

  it('rebases local paths for an output file elsewhere, and comes back to the same region on a round trip', () => {
    const local = AWS.replace('s3://artifacts/iris/model.onnx', './model.onnx');
    const moved = migrate(local, 'gcp', { outFile: '/work/app/out/iris.gcp.yaml' });
    expect(entry(moved, 'spec.model.uri')).toMatchObject({ outcome: 'translated', to: '../model.onnx' });
    const toGcp = migrate(local, 'gcp', { set: { 'spec.extensions.gcp.project': 'p' } }).text;
    const back = migrate(toGcp.replace('provider: aws', 'provider: aws'), 'aws').text;
    expect(back).toContain('region: us-east-1');
    expect(back).toContain('roleArn: arn:aws:iam::1234:role/sm'); // the source's extensions were kept
  });

  it('asks for the keys only some kinds need (a compute cluster for batch jobs)', () => {
    const batchJob = `apiVersion: modelport.dev/v1alpha1
kind: BatchJob
metadata:
  name: iris-batch
spec:
  model: { format: onnx, uri: ./model.onnx }
  target: { provider: aws, region: eu-west-1 }
  batch: { input: ./in, output: ./out, format: jsonl }
`;
    const withCluster = (id: string) =>
      id === 'gcp' ? { ...CAPS['gcp']!, requiredExtensionsFor: { batch: ['computeCluster'] } } : CAPS[id];
    const batch = migrate(batchJob, 'gcp', { capabilitiesOf: withCluster });
    expect(batch.report.todos.map((t) => t.path).sort()).toEqual([
      'spec.extensions.gcp.computeCluster',
      'spec.extensions.gcp.project',
    ]);
    const endpoint = migrate(AWS, 'gcp', { capabilitiesOf: withCluster });
    expect(endpoint.report.todos.map((t) => t.path)).not.toContain('spec.extensions.gcp.computeCluster');
  });

  it('refuses an unknown target with the installed providers', () => {
    expect(() => migrate(AWS, 'nope')).toThrow(/not installed/);
  });
});
