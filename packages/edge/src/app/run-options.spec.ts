import { describe, expect, it } from 'vitest';

import { parseRunOptions } from './run-options.js';

describe('parseRunOptions', () => {
  it('defaults: 127.0.0.1:8080, queue on the next port, info logs', () => {
    expect(parseRunOptions([], {})).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      queuePort: 8081,
      logLevel: 'info',
      verifyOnly: false,
    });
  });

  it("accepts SageMaker's `serve` argument and its port variable; Vertex AI's AIP_* variables", () => {
    expect(parseRunOptions(['serve'], { SAGEMAKER_BIND_TO_PORT: '9000' })).toMatchObject({
      port: 9000,
      queuePort: 9001,
    });
    expect(
      parseRunOptions([], { AIP_HTTP_PORT: '7080', AIP_PREDICT_ROUTE: '/v1/p', AIP_HEALTH_ROUTE: '/h' }),
    ).toMatchObject({
      port: 7080,
      predictRoute: '/v1/p',
      healthRoute: '/h',
    });
    // The explicit flag wins over every variable.
    expect(parseRunOptions(['--port', '1234'], { AIP_HTTP_PORT: '7080', MODELPORT_PORT: '5' }).port).toBe(
      1234,
    );
  });

  it('turns the queue off, picks free ports with 0, reads the signing settings', () => {
    expect(parseRunOptions(['--queue-port', 'off'], {}).queuePort).toBeUndefined();
    expect(parseRunOptions(['--port', '0'], {}).queuePort).toBe(0);
    expect(
      parseRunOptions([], { MODELPORT_PUBKEY: '/etc/k.pub', MODELPORT_REQUIRE_SIGNATURE: '1' }),
    ).toMatchObject({
      pubkey: '/etc/k.pub',
      requireSignature: true,
    });
  });

  it('takes the model name, limits and timeout the platforms set (KServe args, the AWS provider env)', () => {
    const kserveArgs = [
      '--model',
      '/mnt/models/model.onnx',
      '--name',
      'iris',
      '--host',
      '0.0.0.0',
      '--port',
      '8080',
    ];
    expect(parseRunOptions([...kserveArgs, '--max-payload-mb', '6', '--timeout-s', '30'], {})).toMatchObject({
      model: '/mnt/models/model.onnx',
      name: 'iris',
      host: '0.0.0.0',
      maxPayloadMB: 6,
      timeoutSeconds: 30,
    });
    expect(
      parseRunOptions([], {
        MODELPORT_MODEL_NAME: 'm',
        MODELPORT_MAX_PAYLOAD_MB: '4',
        MODELPORT_TIMEOUT_S: '20',
      }),
    ).toMatchObject({ name: 'm', maxPayloadMB: 4, timeoutSeconds: 20 });
    expect(() => parseRunOptions(['--timeout-s', '0'], {})).toThrow(/--timeout-s must be a positive number/);
    // A SageMaker Batch Transform job says how large its mini-batches are (0: not set).
    const transform = { MODELPORT_MAX_PAYLOAD_MB: '6', SAGEMAKER_MAX_PAYLOAD_IN_MB: '100' };
    expect(parseRunOptions([], transform).maxPayloadMB).toBe(100);
    expect(parseRunOptions([], { ...transform, SAGEMAKER_MAX_PAYLOAD_IN_MB: '0' }).maxPayloadMB).toBe(6);
    expect(parseRunOptions(['--max-payload-mb', '8'], transform).maxPayloadMB).toBe(8);
  });

  it('rejects bad input with a message', () => {
    expect(() => parseRunOptions(['--port', '70000'], {})).toThrow(/port number/);
    expect(() => parseRunOptions(['--port', '65535'], {})).toThrow(/queue port 65536 is out of range/);
    expect(() => parseRunOptions(['start'], {})).toThrow(/unexpected argument "start"/);
    expect(() => parseRunOptions(['--nope'], {})).toThrow(/Unknown option/);
    expect(() => parseRunOptions([], { AIP_PREDICT_ROUTE: 'predict' })).toThrow(/must start with/);
  });
});

describe('parseRunOptions: batch mode', () => {
  const io = { MODELPORT_BATCH_INPUT: 's3://b/in/', MODELPORT_BATCH_OUTPUT: 's3://b/out/' };

  it('is chosen by the `batch` argument or MODELPORT_MODE=batch; the argument wins', () => {
    expect(parseRunOptions(['batch', '--input', 'in', '--output', 'out'], {})).toMatchObject({
      mode: 'batch',
      batch: { input: 'in', output: 'out', format: undefined, maxFailed: 0, shard: undefined },
    });
    expect(parseRunOptions([], { ...io, MODELPORT_MODE: 'batch' }).mode).toBe('batch');
    expect(parseRunOptions(['serve'], { ...io, MODELPORT_MODE: 'batch' })).toMatchObject({
      mode: 'serve',
      batch: undefined,
    });
    expect(() => parseRunOptions([], { MODELPORT_MODE: 'train' })).toThrow(/MODELPORT_MODE must be/);
  });

  it('reads the job from the environment (AWS Batch job definitions) and the flags', () => {
    expect(
      parseRunOptions(['batch'], {
        ...io,
        MODELPORT_BATCH_FORMAT: 'csv',
        MODELPORT_BATCH_SIZE: '64',
        MODELPORT_BATCH_MAX_FAILED: '10',
        MODELPORT_MODEL: 's3://b/model.tar.gz',
      }),
    ).toMatchObject({
      model: 's3://b/model.tar.gz',
      modelFrom: 'MODELPORT_MODEL',
      batch: { format: 'csv', batchSize: 64, maxFailed: 10 },
    });
    expect(parseRunOptions(['batch', '--max-failed', '3', '--format', 'jsonl'], io).batch).toMatchObject({
      maxFailed: 3,
      format: 'jsonl',
    });
    // What earlier AWS Batch job definitions set.
    expect(parseRunOptions(['batch'], { ...io, MODELPORT_MODEL_URI: 's3://b/m.onnx' })).toMatchObject({
      model: 's3://b/m.onnx',
      modelFrom: 'MODELPORT_MODEL_URI',
    });
  });

  it('shards: MODELPORT_BATCH_SHARDS with JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX or --shard-index', () => {
    const shard = (argv: string[], env: NodeJS.ProcessEnv) =>
      parseRunOptions(['batch', ...argv], { ...io, ...env }).batch?.shard;
    expect(shard([], { MODELPORT_BATCH_SHARDS: '4', JOB_COMPLETION_INDEX: '3' })).toEqual({
      index: 3,
      count: 4,
    });
    expect(shard([], { MODELPORT_BATCH_SHARDS: '2', AWS_BATCH_JOB_ARRAY_INDEX: '1' })).toEqual({
      index: 1,
      count: 2,
    });
    expect(shard(['--shards', '3', '--shard-index', '0'], { JOB_COMPLETION_INDEX: '2' })).toEqual({
      index: 0,
      count: 3,
    });
    // An index alone (an Indexed Job without the shard count) takes every file.
    expect(shard([], { JOB_COMPLETION_INDEX: '1' })).toBeUndefined();
    expect(() => shard([], { MODELPORT_BATCH_SHARDS: '2' })).toThrow(/needs a shard index/);
    expect(() => shard([], { MODELPORT_BATCH_SHARDS: '2', JOB_COMPLETION_INDEX: '2' })).toThrow(
      /JOB_COMPLETION_INDEX 2 is not below the number of shards 2/,
    );
  });

  it('refuses a batch job without input or output, bad numbers and formats, batch flags in serve mode', () => {
    expect(() => parseRunOptions(['batch', '--output', 'o'], {})).toThrow(/needs --input/);
    expect(() => parseRunOptions(['batch', '--input', 'i'], {})).toThrow(/needs --output/);
    expect(() => parseRunOptions(['batch', '--format', 'xml'], io)).toThrow(/--format must be jsonl or csv/);
    expect(() => parseRunOptions(['batch', '--batch-size', '0'], io)).toThrow(
      /--batch-size must be a positive/,
    );
    expect(() => parseRunOptions(['batch', '--max-failed=-1'], io)).toThrow(/--max-failed must be a whole/);
    expect(() => parseRunOptions(['serve', '--input', 'x'], {})).toThrow(
      /--input is an option of `run batch`/,
    );
    expect(() => parseRunOptions(['batch', 'extra'], io)).toThrow(/unexpected argument "extra"/);
    expect(parseRunOptions(['batch', '--help'], {})).toMatchObject({ help: true, mode: 'batch' });
  });
});
