// The serving image on Vertex AI: the model is fetched from AIP_STORAGE_URI (here the testkit's fake GCS,
// which the GCP provider's uploads go to in its own tests), with the signature beside it, and served.
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VertexEmulator } from '@modelport/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelFromStorage } from './storage-model.js';

const IRIS = fileURLToPath(new URL('../../../../examples/iris/model.onnx', import.meta.url));
const BUCKET = 'models';
const SIGNATURE = { inputs: [{ name: 'input', dtype: 'float32', shape: [-1, 4] }] };

let emulator: VertexEmulator;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  emulator = new VertexEmulator({ buckets: [BUCKET] });
  await emulator.start();
  dir = await mkdtemp(join(tmpdir(), 'modelport-storage-model-'));
  emulator.gcs.put(BUCKET, 'iris/v1/model.onnx', await readFile(IRIS));
  emulator.gcs.put(BUCKET, 'iris/v1/signature.json', Buffer.from(JSON.stringify(SIGNATURE)));
  emulator.gcs.put(BUCKET, 'iris/v10/model.onnx', Buffer.from('not this one'));
  env = { AIP_STORAGE_URI: `gs://${BUCKET}/iris/v1`, MODELPORT_GCS_ENDPOINT: emulator.gcsUrl };
});

afterAll(async () => {
  await emulator?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('modelFromStorage', () => {
  it('downloads the named model of the folder, byte for byte, with its signature', async () => {
    const fetched = await modelFromStorage('model.onnx', { dir, env });
    expect(fetched?.signature).toEqual(SIGNATURE);
    expect((await readFile(fetched?.path as string)).equals(await readFile(IRIS))).toBe(true);
  });

  it('finds the one .onnx file when no name is given, and only in that folder', async () => {
    const fetched = await modelFromStorage(undefined, { dir, env });
    expect(fetched?.path.endsWith('model.onnx')).toBe(true);
    expect((await readFile(fetched?.path as string)).length).toBe((await readFile(IRIS)).length);
  });

  it('leaves a model that is already here, and a container without AIP_STORAGE_URI, alone', async () => {
    const local = join(dir, 'local.onnx');
    await writeFile(local, 'x');
    expect(await modelFromStorage(local, { dir, env })).toBeUndefined();
    expect(await modelFromStorage('model.onnx', { dir, env: {} })).toBeUndefined();
  });

  it('says what is missing, and asks the metadata server for a token on real GCS', async () => {
    await expect(modelFromStorage('other.onnx', { dir, env })).rejects.toThrow(
      /expected other\.onnx in the folder, found none/,
    );
    const asked: string[] = [];
    const offline = (async (url: string | URL) => {
      asked.push(String(url));
      return new Response('no metadata server here', { status: 404 });
    }) as typeof fetch;
    await expect(
      modelFromStorage('model.onnx', { dir, env: { AIP_STORAGE_URI: 'gs://b/f' }, fetch: offline }),
    ).rejects.toThrow(/metadata server \(HTTP 404\)/);
    expect(asked).toEqual([
      'http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token',
    ]);
  });
});
