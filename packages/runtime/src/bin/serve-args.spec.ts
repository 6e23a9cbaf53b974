import { describe, expect, it } from 'vitest';

import { parseServeArgs } from './serve-args.js';

describe('parseServeArgs', () => {
  it('has production defaults', () => {
    expect(parseServeArgs(['--model', 'm.onnx'], {})).toEqual({
      help: false,
      model: 'm.onnx',
      host: '127.0.0.1',
      port: 8080,
      maxPayloadBytes: 6 * 1024 * 1024,
      requestTimeoutMs: 60_000,
      graceMs: 30_000,
      logLevel: 'info',
      healthRoute: '/health',
      predictRoute: '/predict',
    });
  });

  it('reads flags and the AIP_* environment; --port wins over AIP_HTTP_PORT', () => {
    const env = { AIP_HTTP_PORT: '7080', AIP_HEALTH_ROUTE: '/h', AIP_PREDICT_ROUTE: '/p' };
    const args = parseServeArgs(
      [
        '--model',
        'm.onnx',
        '--name',
        'iris',
        '--host',
        '0.0.0.0',
        '--max-payload-mb',
        '1.5',
        '--timeout-s',
        '2',
        '--log-level',
        'debug',
        '--signature',
        's.json',
      ],
      env,
    );
    expect(args).toMatchObject({
      name: 'iris',
      host: '0.0.0.0',
      port: 7080,
      maxPayloadBytes: 1.5 * 1024 * 1024,
      requestTimeoutMs: 2000,
      logLevel: 'debug',
      signature: 's.json',
      healthRoute: '/h',
      predictRoute: '/p',
    });
    expect(parseServeArgs(['--model', 'm', '--port', '0'], env).port).toBe(0);
  });

  it('takes the mini-batch size of a SageMaker Batch Transform job as the default payload limit', () => {
    const env = { SAGEMAKER_MAX_PAYLOAD_IN_MB: '50' };
    expect(parseServeArgs(['--model', 'm'], env).maxPayloadBytes).toBe(50 * 1024 * 1024);
    expect(parseServeArgs(['--model', 'm', '--max-payload-mb', '2'], env).maxPayloadBytes).toBe(
      2 * 1024 * 1024,
    );
    // 0: the job streams arbitrarily large payloads; the default stays.
    expect(parseServeArgs(['--model', 'm'], { SAGEMAKER_MAX_PAYLOAD_IN_MB: '0' }).maxPayloadBytes).toBe(
      6 * 1024 * 1024,
    );
    expect(() => parseServeArgs(['--model', 'm'], { SAGEMAKER_MAX_PAYLOAD_IN_MB: 'lots' })).toThrow(
      'SAGEMAKER_MAX_PAYLOAD_IN_MB must be a positive number, got "lots"',
    );
  });

  it('explains what is wrong', () => {
    expect(() => parseServeArgs([], {})).toThrow('--model <path> is required');
    expect(() => parseServeArgs(['--model', 'm', '--port', '70000'], {})).toThrow(
      '--port must be a port number (0-65535), got "70000"',
    );
    expect(() => parseServeArgs(['--model', 'm'], { AIP_HTTP_PORT: 'x' })).toThrow(
      /AIP_HTTP_PORT must be a port number/,
    );
    expect(() => parseServeArgs(['--model', 'm', '--timeout-s', '0'], {})).toThrow(
      '--timeout-s must be a positive number, got "0"',
    );
    expect(() => parseServeArgs(['--model', 'm', '--log-level', 'loud'], {})).toThrow(/--log-level must be/);
    expect(() => parseServeArgs(['--model', 'm'], { AIP_PREDICT_ROUTE: 'predict' })).toThrow(
      /AIP_PREDICT_ROUTE must start with "\/"/,
    );
    expect(() => parseServeArgs(['--model', 'm', '--bogus'], {})).toThrow(/bogus/);
    expect(parseServeArgs(['--help'], {}).help).toBe(true);
  });
});
