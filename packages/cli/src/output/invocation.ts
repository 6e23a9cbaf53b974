import { statSync } from 'node:fs';
import type { DeploymentStatus, LoadedManifest } from '@modelport/core';
import { localModelPathOf, onnxInputs } from '@modelport/core';

/** One input of a model: its name, element type and shape (-1 or a name for a dynamic dimension). */
export interface InputShape {
  name: string;
  dtype: string;
  shape: readonly (number | string)[];
}

/** How to call a deployed endpoint: where, and a curl line to paste. */
export interface Invocation {
  /** The endpoint's URL, as `status` reports it. */
  url: string;
  /** The URL the request goes to (with the route). */
  target: string;
  /** A line to paste: curl, or `modelport invoke --async` where a cloud takes the payload from storage. */
  command: string;
  /** Said under the curl line: what to do with the answer, or what the placeholder stands for. */
  note?: string;
}

/** Instances of a body larger than this many values are a placeholder: nothing to paste by hand. */
const MAX_EXAMPLE_VALUES = 64;
const PLACEHOLDER = '{"instances": [[<values of one instance>]]}';

/**
 * The request body `modelport invoke` takes, with one instance of zeros shaped like the model's inputs
 * (a variable first dimension is the batch): `{"instances": [[0, 0, 0, 0]]}` for one input of shape
 * [-1, 4], row objects for several inputs. Undefined when the shape is unknown or too large to write by hand.
 */
export function exampleBody(inputs: readonly InputShape[] | undefined): string | undefined {
  if (inputs === undefined || inputs.length === 0) return undefined;
  let values = 0;
  // As the runtime: instances stack along a variable first dimension of every input; otherwise an
  // instance is the whole tensor.
  const variable = (d: number | string | undefined): boolean => typeof d !== 'number' || d <= 0;
  const batched = inputs.every((i) => i.shape.length > 0 && variable(i.shape[0]));
  const instanceOf = (input: InputShape): unknown => {
    const dims = (batched ? input.shape.slice(1) : input.shape).map((d) => (variable(d) ? 1 : Number(d)));
    values += dims.reduce((a, b) => a * b, 1);
    return filled(dims, zeroOf(input.dtype));
  };
  const [only] = inputs;
  const instance =
    inputs.length === 1 && only !== undefined
      ? instanceOf(only)
      : Object.fromEntries(inputs.map((input) => [input.name, instanceOf(input)]));
  if (values > MAX_EXAMPLE_VALUES) return undefined;
  return `{"instances": [${JSON.stringify(instance).replace(/,/g, ', ').replace(/":/g, '": ')}]}`;
}

function filled(dims: readonly number[], zero: unknown): unknown {
  const [first, ...rest] = dims;
  if (first === undefined) return zero;
  return Array.from({ length: first }, () => filled(rest, zero));
}

function zeroOf(dtype: string): unknown {
  const type = dtype.toLowerCase();
  if (type === 'string' || type === 'bytes') return '';
  if (type === 'bool') return false;
  return 0;
}

/** The inputs a manifest declares (spec.model.signature), if it does. */
export function declaredInputs(manifest: LoadedManifest): InputShape[] | undefined {
  const inputs = manifest.manifest.spec.model.signature?.inputs;
  if (inputs === undefined || inputs.length === 0) return undefined;
  return inputs.map((i) => ({ name: i.name, dtype: i.dtype, shape: i.shape ?? [-1] }));
}

/**
 * The inputs of the manifest's ONNX file, when it is a local file (read field by field, not loaded): the
 * signature the local provider infers when the manifest has none.
 */
export function fileInputs(manifest: LoadedManifest): InputShape[] | undefined {
  const model = manifest.manifest.spec.model;
  if (model.format !== 'onnx' || model.uri === undefined) return undefined;
  const path = localModelPathOf(model.uri, manifest.baseDir);
  if (path === undefined || statSync(path, { throwIfNoEntry: false })?.isFile() !== true) return undefined;
  const inputs = onnxInputs(path);
  return inputs === undefined || inputs.length === 0 ? undefined : inputs;
}

/**
 * The inputs a modelport runtime serves (Open Inference Protocol model metadata, `GET /v2/models/<name>`),
 * for a local endpoint whose manifest has no signature (it is read from the ONNX file). Undefined on any
 * failure: the example then has a placeholder.
 */
export async function servedInputs(baseUrl: string, name: string): Promise<InputShape[] | undefined> {
  try {
    const response = await fetch(`${baseUrl}/v2/models/${encodeURIComponent(name)}`, {
      signal: AbortSignal.timeout(2000),
    });
    if (!response.ok) return undefined;
    const body = (await response.json()) as {
      inputs?: { name?: unknown; datatype?: unknown; shape?: unknown }[];
    };
    const inputs = (body.inputs ?? []).flatMap((i) =>
      typeof i.name === 'string' && Array.isArray(i.shape)
        ? [
            {
              name: i.name,
              dtype: typeof i.datatype === 'string' ? i.datatype : 'FP32',
              shape: i.shape as (number | string)[],
            },
          ]
        : [],
    );
    return inputs.length === 0 ? undefined : inputs;
  } catch {
    return undefined;
  }
}

/** Single-quotes a word for a POSIX shell. */
export function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * How to call an endpoint that `status` gives a URL for: the route and the authentication each provider
 * needs (the local server needs none; the clouds' tokens come from their CLIs or the environment).
 */
export function invocationFor(
  status: DeploymentStatus,
  manifest: LoadedManifest,
  inputs: readonly InputShape[] | undefined,
): Invocation | undefined {
  if (status.url === undefined || manifest.manifest.kind !== 'Endpoint') return undefined;
  const spec = manifest.manifest.spec;
  const mode = spec.mode ?? 'realtime';
  const name = manifest.manifest.metadata.name;
  const url = status.url.replace(/\/+$/, '');
  const example = exampleBody(inputs);
  const body = example ?? PLACEHOLDER;
  const placeholderNote =
    example === undefined
      ? 'replace <values of one instance> with the values of one instance (the model signature gives their shape)'
      : undefined;
  const headers: string[] = [];
  const auth: string[] = [];
  let target = url;
  let note = placeholderNote;
  const extensions = (spec.extensions ?? {}) as Record<string, Record<string, unknown> | undefined>;
  switch (status.provider) {
    case 'local':
      target = `${url}${mode === 'async' ? '/async-invocations' : '/invocations'}`;
      if (mode === 'async')
        note = join(note, 'the answer is a request id: `modelport result <id> --wait 60` fetches the result');
      break;
    case 'aws': {
      if (mode === 'async') return asyncOnly(url, manifest, body);
      const region = spec.target?.region ?? '<region>';
      auth.push(
        `--aws-sigv4 ${shellQuote(`aws:amz:${region}:sagemaker`)}`,
        '--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"',
      );
      note = join(
        note,
        'curl ≥ 7.75 signs it with the credentials in the environment; temporary ones also need -H "x-amz-security-token: $AWS_SESSION_TOKEN"',
      );
      break;
    }
    case 'azure': {
      if (mode === 'async') return asyncOnly(url, manifest, body);
      const azure = extensions['azure'] ?? {};
      const key = `az ml online-endpoint get-credentials --name ${shellQuote(name)} --resource-group ${shellQuote(String(azure['resourceGroup'] ?? '<resource-group>'))} --workspace-name ${shellQuote(String(azure['workspace'] ?? '<workspace>'))} --query primaryKey -o tsv`;
      headers.push(`-H "Authorization: Bearer $(${key})"`);
      break;
    }
    case 'gcp':
      if (mode === 'async') return asyncOnly(url, manifest, body);
      headers.push('-H "Authorization: Bearer $(gcloud auth print-access-token)"');
      break;
    case 'kserve':
      target = `${url}/v1/models/${encodeURIComponent(name)}:predict`;
      break;
    default:
      break;
  }
  const command = [
    'curl -sS',
    ...auth,
    shellQuote(target),
    ...headers,
    "-H 'Content-Type: application/json'",
    `-d ${shellQuote(body)}`,
  ].join(' ');
  return { url, target, command, ...(note === undefined ? {} : { note }) };
}

/** A cloud async endpoint takes its payload from the cloud's storage: `modelport invoke --async` does that. */
function asyncOnly(url: string, manifest: LoadedManifest, body: string): Invocation {
  const file = shellQuote(manifest.file);
  return {
    url,
    target: url,
    command: `modelport invoke ${file} --async -d ${shellQuote(body)}`,
    note: 'an async endpoint reads its payload from cloud storage: `modelport invoke --async` uploads it',
  };
}

function join(a: string | undefined, b: string): string {
  return a === undefined ? b : `${a}; ${b}`;
}
