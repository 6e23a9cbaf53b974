// The emulator on the wire, without an SDK: request validation against the official models (a bad request
// IS reported), signing required, faults, S3 aws-chunked uploads and listings, routing.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsEmulator } from './aws-emulator.js';

let emulator: AwsEmulator;

beforeAll(async () => {
  emulator = new AwsEmulator({ buckets: ['b'] });
  await emulator.start();
});

afterAll(async () => {
  await emulator.stop();
});

function auth(service: string): string {
  return `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=0`;
}

function call(
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer; service?: string | null } = {},
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    const req = request(
      new URL(path, emulator.url),
      {
        method,
        headers: {
          ...(options.service === null ? {} : { authorization: auth(options.service ?? 's3') }),
          ...(body === undefined ? {} : { 'content-length': String(body.length) }),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function sagemaker(operation: string, input: unknown) {
  return call('POST', '/', {
    service: 'sagemaker',
    headers: { 'x-amz-target': `SageMaker.${operation}`, 'content-type': 'application/x-amz-json-1.1' },
    body: JSON.stringify(input),
  });
}

describe('AwsEmulator', () => {
  it('reports a request that breaks the official model', async (ctx) => {
    if (emulator.validationSkipped !== undefined) ctx.skip();
    const before = emulator.violations.length;
    await sagemaker('CreateModel', { ModelName: 'bad_name!', PrimaryContainer: { Image: 'x' }, Unknown: 1 });
    await sagemaker('CreateEndpointConfig', {
      EndpointConfigName: 'c',
      ProductionVariants: [
        { VariantName: 'v', ModelName: 'bad_name!', InstanceType: 'ml.nonsense', InitialInstanceCount: 0 },
      ],
    });
    const found = emulator.violations.slice(before).map((v) => `${v.operation} ${v.path}: ${v.message}`);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^CreateModel ModelName: "bad_name!" does not match the pattern/),
        'CreateModel Unknown: is not a member of this structure',
        expect.stringMatching(
          /^CreateEndpointConfig ProductionVariants\[0\]\.InstanceType: "ml.nonsense" is not one of/,
        ),
        'CreateEndpointConfig ProductionVariants[0].InitialInstanceCount: 0 is below the minimum 1',
      ]),
    );
    expect(() => emulator.assertNoViolations()).toThrow(/broke the official AWS models/);
    emulator.violations.length = 0;
  });

  it('refuses unsigned requests', async () => {
    const reply = await call('GET', '/', { service: null });
    expect(reply.status).toBe(403);
  });

  it('answers awsJson errors with __type, and throttles on request', async () => {
    const missing = await sagemaker('DescribeEndpoint', { EndpointName: 'nope' });
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.text)).toMatchObject({
      __type: 'ValidationException',
      message: expect.stringMatching(/Could not find endpoint/),
    });
    emulator.faults.throttle('ListModels', 1);
    const throttled = await sagemaker('ListModels', {});
    expect(JSON.parse(throttled.text).__type).toBe('ThrottlingException');
    expect((await sagemaker('ListModels', {})).status).toBe(200);
    expect(emulator.calls('ListModels')).toBe(2);
  });

  it('serves CloudWatch alarms over awsJson1_0 without a model: put, describe by name or prefix, tag, delete', async () => {
    const cloudwatch = (operation: string, body: unknown) =>
      call('POST', '/', {
        service: 'monitoring',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': `GraniteServiceVersion20100801.${operation}`,
        },
        body: JSON.stringify(body),
      });
    const alarm = {
      AlarmName: 'e-backlog-without-capacity',
      MetricName: 'HasBacklogWithoutCapacity',
      Namespace: 'AWS/SageMaker',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 2,
      Threshold: 1,
      Tags: [{ Key: 'k', Value: 'v' }],
    };
    expect((await cloudwatch('PutMetricAlarm', alarm)).status).toBe(200);
    const missing = await cloudwatch('PutMetricAlarm', { AlarmName: 'x', MetricName: 'm' });
    expect(JSON.parse(missing.text).__type).toBe('ValidationException');
    const byPrefix = JSON.parse((await cloudwatch('DescribeAlarms', { AlarmNamePrefix: 'e-' })).text);
    expect(byPrefix.MetricAlarms).toHaveLength(1);
    const arn = byPrefix.MetricAlarms[0].AlarmArn as string;
    expect(arn).toMatch(/:alarm:e-backlog-without-capacity$/);
    expect(
      (await cloudwatch('TagResource', { ResourceARN: arn, Tags: [{ Key: 'k2', Value: 'v2' }] })).status,
    ).toBe(200);
    expect(JSON.parse((await cloudwatch('ListTagsForResource', { ResourceARN: arn })).text).Tags).toEqual([
      { Key: 'k', Value: 'v' },
      { Key: 'k2', Value: 'v2' },
    ]);
    expect((await cloudwatch('DeleteAlarms', { AlarmNames: [alarm.AlarmName, 'unknown'] })).status).toBe(200);
    const byName = JSON.parse((await cloudwatch('DescribeAlarms', { AlarmNames: [alarm.AlarmName] })).text);
    expect(byName.MetricAlarms).toEqual([]);
    expect(emulator.calls('PutMetricAlarm')).toBe(2);
  });

  it('stores S3 objects sent aws-chunked, with trailing checksum, and lists them as XML', async () => {
    const chunked =
      '5;chunk-signature=0\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n';
    const put = await call('PUT', '/b/dir/file.txt?x-id=PutObject', {
      headers: {
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': '11',
        'x-amz-tagging': 'a=1&b=2',
      },
      body: chunked,
    });
    expect(put.status).toBe(200);
    expect(emulator.s3.get('b', 'dir/file.txt')).toMatchObject({ size: 11, tags: { a: '1', b: '2' } });
    const list = await call('GET', '/b?list-type=2&prefix=dir%2F');
    expect(list.text).toContain('<Key>dir/file.txt</Key><LastModified>');
    expect(list.text).toContain('<Size>11</Size>');
    const got = await call('GET', '/b/dir/file.txt');
    expect(got.text).toBe('hello world');
    const missing = await call('GET', '/b/nothing');
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('<Code>NoSuchKey</Code>');
    expect(emulator.writeCalls((c) => c.service === 's3')).toBe(1);
  });

  it('routes SageMaker Runtime by the signing name and answers a missing endpoint as SageMaker does', async () => {
    const reply = await call('POST', '/endpoints/none/invocations', {
      service: 'sagemaker',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(reply.status).toBe(400);
    expect(reply.headers['x-amzn-errortype']).toBe('ValidationError');
  });

  it('skips validation, with a reason, where the models are absent', async () => {
    const bare = new AwsEmulator({ specsDir: '/nonexistent' });
    await bare.start();
    try {
      expect(bare.validationSkipped).toMatch(/absent/);
    } finally {
      await bare.stop();
    }
  });
});
