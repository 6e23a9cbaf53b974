import { open, readFile, rename, stat } from 'node:fs/promises';
import type { OnnxModel } from '@modelport/runtime';
import { predictFile, RequestError } from '@modelport/runtime';

/** A JSON document is parsed whole; bigger payloads must be sent as JSON lines, which stream. */
const MAX_JSON_DOCUMENT_BYTES = 64 * 1024 * 1024;

/**
 * Runs one queued async payload through the model. JSON lines and CSV stream through the runtime's file
 * runner (any size, constant memory); a JSON document (`{"instances": [...]}`) is parsed whole. The
 * result appears under its name only once complete, so a redelivered request overwrites, never mixes.
 */
export async function processAsyncPayload(
  model: OnnxModel,
  inputPath: string,
  outputPath: string,
  contentType: string,
): Promise<void> {
  const type = contentType.toLowerCase();
  if (
    type === 'application/jsonlines' ||
    type === 'application/x-ndjson' ||
    type === 'application/jsonl' ||
    type === 'text/csv'
  ) {
    const result = await predictFile({
      model,
      input: inputPath,
      output: outputPath,
      format: type === 'text/csv' ? 'csv' : 'jsonl',
    });
    if (result.rows === 0 && result.errors > 0) {
      throw new RequestError(
        `no record of the payload could be predicted (${result.errors} bad records; see ${result.errorsPath ?? 'the errors file'})`,
      );
    }
    return;
  }
  if (type !== 'application/json') {
    throw new RequestError(
      `content type ${contentType} is not supported; use application/json, application/jsonlines or text/csv`,
      'unsupported_media_type',
    );
  }
  const size = (await stat(inputPath)).size;
  if (size > MAX_JSON_DOCUMENT_BYTES) {
    throw new RequestError(
      `a JSON document of ${size} bytes is too big to parse whole; send large payloads as application/jsonlines (one instance per line)`,
      'payload_too_large',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(inputPath, 'utf8'));
  } catch (error) {
    throw new RequestError(`the payload is not valid JSON: ${(error as Error).message}`, 'malformed_json');
  }
  const instances = Array.isArray(parsed) ? parsed : (parsed as { instances?: unknown } | null)?.instances;
  if (!Array.isArray(instances))
    throw new RequestError('the payload must be {"instances": [...]} or an array of instances');
  const predictions = await model.predictInstances(instances);
  await writeAtomically(outputPath, JSON.stringify({ predictions }));
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const partial = `${path}.partial`;
  const handle = await open(partial, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(partial, path);
}
