import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createModelport } from 'modelport';

const root = fileURLToPath(new URL('../../', import.meta.url));
const api = createModelport({ plugins: [`${root}test/fixtures/plugins/modelport-provider-fake`] });

// Each bad manifest, with the diagnostic it must produce: code, where (line:column), the manifest path,
// what is wrong, and (where it helps) what to do.
const cases: [file: string, code: string, at: string, path: string, message: RegExp, hint?: RegExp][] = [
  ['01-syntax-indent.yaml', 'syntax', '5:1', '(syntax)', /must start at the same column/],
  ['02-syntax-json.json', 'syntax', '7:1', '(syntax)', /Flow map must end with a \}/],
  ['03-duplicate-key.yaml', 'syntax', '9:5', '(syntax)', /Map keys must be unique/],
  [
    '04-missing-kind.yaml',
    'schema.required',
    '1:1',
    '(document)',
    /missing required field "kind"/,
    /Endpoint, BatchJob or EdgePackage/,
  ],
  ['05-unknown-kind.yaml', 'schema.kind', '2:7', 'kind', /unknown kind "Endpont"/, /did you mean "Endpoint"/],
  [
    '06-wrong-api-version.yaml',
    'schema.const',
    '1:13',
    'apiVersion',
    /must be "modelport.dev\/v1alpha1", got the string "modelport.dev\/v1"/,
  ],
  [
    '07-bad-name.yaml',
    'schema.pattern',
    '4:9',
    'metadata.name',
    /"Iris_Model" is not a valid value/,
    /lower-case letters, digits and '-'/,
  ],
  [
    '08-unknown-field-typo.yaml',
    'schema.unknownField',
    '8:5',
    'spec.scaling.minReplica',
    /unknown field "minReplica"/,
    /did you mean "minReplicas"/,
  ],
  [
    '09-unknown-spec-field.yaml',
    'schema.unknownField',
    '7:3',
    'spec.roleArn',
    /unknown field "roleArn"/,
    /spec\.extensions\.<provider>/,
  ],
  [
    '10-wrong-type.yaml',
    'schema.type',
    '8:18',
    'spec.scaling.maxReplicas',
    /must be an integer, got the string "three"/,
  ],
  [
    '11-bad-enum-mode.yaml',
    'schema.enum',
    '6:9',
    'spec.mode',
    /"streaming" is not allowed/,
    /"realtime", "serverless", "async"/,
  ],
  [
    '12-missing-model.yaml',
    'schema.required',
    '6:3',
    'spec',
    /missing required field "model"/,
    /add spec\.model/,
  ],
  [
    '13-negative-replicas.yaml',
    'schema.range',
    '8:18',
    'spec.scaling.minReplicas',
    /must be ≥ 0, got number -1/,
  ],
  [
    '14-canary-over-100.yaml',
    'schema.range',
    '9:20',
    'spec.traffic.canaryPercent',
    /must be ≤ 100, got number 150/,
  ],
  [
    '15-min-above-max.yaml',
    'semantic.minAboveMax',
    '9:18',
    'spec.scaling.minReplicas',
    /minReplicas \(5\) is greater than maxReplicas \(2\)/,
    /minReplicas ≤ maxReplicas/,
  ],
  [
    '16-canary-without-percent.yaml',
    'semantic.canaryPercent',
    '9:5',
    'spec.traffic',
    /strategy canary needs traffic\.canaryPercent/,
  ],
  [
    '17-percent-without-canary.yaml',
    'semantic.canaryWithoutCanary',
    '10:5',
    'spec.traffic.canaryPercent',
    /strategy is blue-green/,
  ],
  [
    '18-scale-to-zero-realtime.yaml',
    'capability.scaleToZero',
    '11:18',
    'spec.scaling.scaleToZero',
    /cannot scale realtime endpoints to zero/,
    /use mode serverless or async/,
  ],
  [
    '19-zero-without-scale-to-zero.yaml',
    'semantic.zeroReplicas',
    '10:18',
    'spec.scaling.minReplicas',
    /minReplicas is 0 but scaleToZero is not set/,
  ],
  [
    '20-unknown-provider.yaml',
    'semantic.unknownProvider',
    '8:15',
    'spec.target.provider',
    /provider "oracle" is not installed/,
    /installed providers: (.*, )?fake, (.*, )?local\b/,
  ],
  [
    '21-region-required.yaml',
    'semantic.regionRequired',
    '8:5',
    'spec.target',
    /needs spec\.target\.region/,
    /never picks a region/,
  ],
  [
    '22-payload-over-limit.yaml',
    'capability.payload',
    '9:16',
    'spec.limits.payloadMB',
    /10 MB is above the 2 MB/,
    /use mode: async/,
  ],
  [
    '23-timeout-over-limit.yaml',
    'capability.timeout',
    '9:21',
    'spec.limits.timeoutSeconds',
    /600 s is above the 30 s/,
  ],
  [
    '24-accelerator-unsupported.yaml',
    'capability.accelerator',
    '10:13',
    'spec.compute.accelerator.type',
    /cannot attach accelerator "nvidia-h100"/,
    /available: nvidia-t4/,
  ],
  [
    '25-async-emulated-without-consent.yaml',
    'capability.emulatedMode',
    '6:9',
    'spec.mode',
    /no native async endpoint/,
    /allowEmulation: true/,
  ],
  [
    '26-missing-required-extension.yaml',
    'semantic.extensionRequired',
    '6:3',
    'spec.extensions.fake',
    /needs spec\.extensions\.fake\.account/,
  ],
  [
    '27-shadow-unsupported.yaml',
    'capability.shadow',
    '9:20',
    'spec.traffic.shadowPercent',
    /cannot mirror traffic/,
  ],
  [
    '28-bad-cron.yaml',
    'semantic.cron',
    '10:15',
    'spec.batch.schedule',
    /hour "25": 25 is outside 0-23/,
    /5 fields/,
  ],
  [
    '29-schedule-unsupported.yaml',
    'capability.schedule',
    '10:15',
    'spec.batch.schedule',
    /the local provider cannot run batch jobs on a schedule/,
  ],
  [
    '30-batch-format-unsupported.yaml',
    'capability.batchFormat',
    '11:13',
    'spec.batch.format',
    /cannot read csv/,
    /formats: jsonl/,
  ],
  [
    '31-container-without-image.yaml',
    'semantic.imageRequired',
    '7:5',
    'spec.model',
    /needs spec\.model\.image/,
  ],
  [
    '32-format-unsupported-local.yaml',
    'capability.modelFormat',
    '7:13',
    'spec.model.format',
    /cannot serve format "pytorch"/,
    /supported formats: onnx/,
  ],
  [
    '33-uri-scheme-local.yaml',
    'capability.uriScheme',
    '8:10',
    'spec.model.uri',
    /cannot read models from s3:\/\//,
    /a local path/,
  ],
  [
    '34-duplicate-names.yaml',
    'semantic.duplicateName',
    '11:9',
    'metadata.name',
    /Endpoint\/iris is declared twice in this file \(first at line 4\)/,
  ],
  [
    '35-async-block-on-realtime.yaml',
    'semantic.asyncWithoutAsyncMode',
    '7:3',
    'spec.async',
    /applies only to mode: async/,
  ],
  [
    '36-bad-dtype.yaml',
    'schema.enum',
    '12:18',
    'spec.model.signature.inputs[0].dtype',
    /"float" is not allowed/,
    /"float32"/,
  ],
  ['37-empty.yaml', 'file.empty', '1:1', '(document)', /holds no manifest/],
  [
    '38-scaling-metric-unsupported.yaml',
    'capability.scalingMetric',
    '11:13',
    'spec.scaling.metric',
    /KServe cannot autoscale realtime endpoints on gpuUtilization/,
    /requestsPerReplica, concurrency, cpuUtilization/,
  ],
  [
    '39-gpu-portable-image.yaml',
    'capability.cpuOnlyImage',
    '9:5',
    'spec.compute.accelerator',
    /portable serving image, which runs on CPU only .*: the 1× nvidia-t4 GPU would be billed and sit idle/,
    /set spec\.model\.image to a GPU-capable serving image, or remove compute\.accelerator/,
  ],
  [
    '40-gpu-instance-portable-image.yaml',
    'capability.cpuOnlyImage',
    '9:19',
    'spec.compute.instanceType',
    /the 1× nvidia-l4 GPU of g2-standard-8 would be billed and sit idle/,
    /an instance type without GPUs/,
  ],
];

describe('bad manifests', () => {
  it('has at least 25 fixtures', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  it.each(cases)('%s → %s at %s', async (file, code, at, path, message, hint) => {
    const result = await api.validate(`${root}test/fixtures/bad/${file}`);
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    expect(errors).toHaveLength(1);
    const [error] = errors;
    expect(error).toMatchObject({ code, path });
    expect(`${error?.line}:${error?.column}`).toBe(at);
    expect(error?.file).toMatch(new RegExp(`${file.replace('.', '\\.')}$`));
    expect(error?.message).toMatch(message);
    if (hint !== undefined) expect(error?.hint).toMatch(hint);
  });
});

describe('modelport validate and plan on GPUs asked of the portable serving image', () => {
  const cli = `${root}packages/cli/dist/bin/modelport.js`;
  const stateDir = mkdtempSync(join(tmpdir(), 'modelport-gpu-'));
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));
  const modelport = (...args: string[]) =>
    spawnSync(
      process.execPath,
      [cli, '--plugin', `${root}test/fixtures/plugins/modelport-provider-fake`, ...args],
      {
        encoding: 'utf8',
        cwd: root,
        env: { ...process.env, MODELPORT_STATE_DIR: stateDir, NO_COLOR: '1', FORCE_COLOR: '' },
      },
    );
  const idle = /the 1× nvidia-t4 GPU would be billed and sit idle/;

  it('validate refuses the implied image at the accelerator line, and plan refuses it before any cloud call', () => {
    for (const command of ['validate', 'plan']) {
      const result = modelport(command, 'test/fixtures/bad/39-gpu-portable-image.yaml');
      expect(result.status).toBe(2);
      const output = result.stdout + result.stderr;
      expect(output).toContain(
        'test/fixtures/bad/39-gpu-portable-image.yaml:9:5 error spec.compute.accelerator: without spec.model.image, AWS SageMaker serves ONNX with the portable serving image',
      );
      expect(output).toMatch(idle);
      expect(output).toMatch(
        /→ set spec\.model\.image to a GPU-capable serving image, or remove compute\.accelerator/,
      );
      expect(output).not.toMatch(/credentials/);
    }
  });

  it('validate and plan warn, in the same words, when spec.model.image names the portable image', () => {
    const file = 'test/fixtures/warnings/gpu-named-portable-image.yaml';
    const validated = modelport('validate', file);
    expect(validated.status).toBe(0);
    const warning = `${file}:16:5 warning spec.compute.accelerator: registry.example.com/ml/modelport-serving:0.1.0 is the portable serving image, which runs on CPU only`;
    expect(validated.stdout + validated.stderr).toContain(warning);
    expect(validated.stdout + validated.stderr).toMatch(idle);
    const planned = modelport('plan', file);
    expect(planned.status).toBe(0);
    expect(planned.stdout).toContain(warning);
    expect(planned.stdout).toMatch(/create {2}fake:Endpoint\/contract/);
  });
});
