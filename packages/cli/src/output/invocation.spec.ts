import type { DeploymentStatus, LoadedManifest } from '@modelport/core';
import { describe, expect, it } from 'vitest';
import { exampleBody, invocationFor, shellQuote } from './invocation.js';

function endpoint(provider: string, spec: Record<string, unknown> = {}): LoadedManifest {
  return {
    file: '/work/app/endpoint.yaml',
    manifest: {
      apiVersion: 'modelport.dev/v1alpha1',
      kind: 'Endpoint',
      metadata: { name: 'iris' },
      spec: { model: { format: 'onnx', uri: './model.onnx' }, target: { provider }, ...spec },
    },
  } as unknown as LoadedManifest;
}

function status(provider: string, url: string): DeploymentStatus {
  return { kind: 'Endpoint', name: 'iris', provider, state: 'ready', url, resources: [] } as DeploymentStatus;
}

const FEATURES = [{ name: 'input', dtype: 'float32', shape: [-1, 4] }];

describe('exampleBody', () => {
  it('builds one instance of zeros from the input shape (the first dimension is the batch)', () => {
    expect(exampleBody(FEATURES)).toBe('{"instances": [[0, 0, 0, 0]]}');
    expect(exampleBody([{ name: 'x', dtype: 'FP32', shape: [-1] }])).toBe('{"instances": [0]}');
    expect(exampleBody([{ name: 'x', dtype: 'float32', shape: ['batch', 2, 'n'] }])).toBe(
      '{"instances": [[[0], [0]]]}',
    );
    // No variable first dimension: an instance is the whole tensor (as the runtime takes it).
    expect(exampleBody([{ name: 'x', dtype: 'float32', shape: [2, 3] }])).toBe(
      '{"instances": [[[0, 0, 0], [0, 0, 0]]]}',
    );
  });

  it('writes row objects for several inputs, with a zero of each dtype', () => {
    expect(
      exampleBody([
        { name: 'sqm', dtype: 'float32', shape: [-1, 1] },
        { name: 'rooms', dtype: 'int64', shape: [-1, 1] },
        { name: 'city', dtype: 'string', shape: [-1, 1] },
      ]),
    ).toBe('{"instances": [{"sqm": [0], "rooms": [0], "city": [""]}]}');
  });

  it('gives up (a placeholder) when the shape is unknown or too large to paste', () => {
    expect(exampleBody(undefined)).toBeUndefined();
    expect(exampleBody([{ name: 'image', dtype: 'float32', shape: [-1, 3, 224, 224] }])).toBeUndefined();
  });
});

describe('invocationFor', () => {
  it('local: the route on the local server, no authentication', () => {
    expect(invocationFor(status('local', 'http://127.0.0.1:40033'), endpoint('local'), FEATURES)).toEqual({
      url: 'http://127.0.0.1:40033',
      target: 'http://127.0.0.1:40033/invocations',
      command: `curl -sS http://127.0.0.1:40033/invocations -H 'Content-Type: application/json' -d '{"instances": [[0, 0, 0, 0]]}'`,
    });
  });

  it('local async: the queue route, and how to fetch the result', () => {
    const call = invocationFor(
      status('local', 'http://127.0.0.1:4000'),
      endpoint('local', { mode: 'async' }),
      FEATURES,
    );
    expect(call?.target).toBe('http://127.0.0.1:4000/async-invocations');
    expect(call?.note).toMatch(/modelport result <id>/);
  });

  it('the clouds: their authentication, from their CLIs or the environment', () => {
    const aws = invocationFor(
      status('aws', 'https://runtime.sagemaker.eu-west-1.amazonaws.com/endpoints/iris/invocations'),
      endpoint('aws', { target: { provider: 'aws', region: 'eu-west-1' } }),
      FEATURES,
    );
    expect(aws?.command).toMatch(
      /^curl -sS --aws-sigv4 aws:amz:eu-west-1:sagemaker --user "\$AWS_ACCESS_KEY_ID:\$AWS_SECRET_ACCESS_KEY" https:\/\/runtime\.sagemaker\.eu-west-1\.amazonaws\.com\/endpoints\/iris\/invocations /,
    );
    const azure = invocationFor(
      status('azure', 'https://iris.westeurope.inference.ml.azure.com/score'),
      endpoint('azure', { extensions: { azure: { resourceGroup: 'rg', workspace: 'ws' } } }),
      FEATURES,
    );
    expect(azure?.command).toContain(
      '-H "Authorization: Bearer $(az ml online-endpoint get-credentials --name iris --resource-group rg --workspace-name ws --query primaryKey -o tsv)"',
    );
    const gcp = invocationFor(
      status(
        'gcp',
        'https://europe-west4-aiplatform.googleapis.com/v1/projects/p/locations/europe-west4/endpoints/iris:predict',
      ),
      endpoint('gcp'),
      FEATURES,
    );
    expect(gcp?.command).toContain('-H "Authorization: Bearer $(gcloud auth print-access-token)"');
    const kserve = invocationFor(
      status('kserve', 'http://iris.default.example.com'),
      endpoint('kserve'),
      FEATURES,
    );
    expect(kserve?.target).toBe('http://iris.default.example.com/v1/models/iris:predict');
  });

  it('says what the placeholder stands for when the shape is unknown, and nothing without a URL', () => {
    const call = invocationFor(status('fake', 'https://fake.example/x'), endpoint('fake'), undefined);
    expect(call?.command).toContain(`-d '{"instances": [[<values of one instance>]]}'`);
    expect(call?.note).toMatch(/replace <values of one instance>/);
    const noUrl = { ...status('local', 'x'), url: undefined } as unknown as DeploymentStatus;
    expect(invocationFor(noUrl, endpoint('local'), FEATURES)).toBeUndefined();
  });

  it('quotes for a POSIX shell', () => {
    expect(shellQuote('plain/path.yaml')).toBe('plain/path.yaml');
    expect(shellQuote(`it's`)).toBe(`'it'\\''s'`);
  });
});
