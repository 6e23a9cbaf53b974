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
  });

  it('rejects bad input with a message', () => {
    expect(() => parseRunOptions(['--port', '70000'], {})).toThrow(/port number/);
    expect(() => parseRunOptions(['--port', '65535'], {})).toThrow(/queue port 65536 is out of range/);
    expect(() => parseRunOptions(['start'], {})).toThrow(/unexpected argument "start"/);
    expect(() => parseRunOptions(['--nope'], {})).toThrow(/Unknown option/);
    expect(() => parseRunOptions([], { AIP_PREDICT_ROUTE: 'predict' })).toThrow(/must start with/);
  });
});
