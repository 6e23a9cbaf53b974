// Reading what a Vertex AI batch prediction job wrote. A custom-container model's job writes, under
// `prediction-<model>-<time>/`, `prediction.results-0000R-of-0000N` files of {"instance", "prediction"} JSON
// lines and `prediction.errors_stats-0000R-of-0000N` files (models with schemata write `predictions_0001.*`
// and `errors_0001.*` instead: both are read). Vertex keeps no input order within or across the files, so
// the predictions are put back in input order by matching each result's echoed instance to the job's
// input; an instance no result matches failed.
import { ModelportError } from '@modelport/core';
import type { GcpClients } from './client-factory.js';
import { call } from './errors.js';
import { parseGsUri } from './settings.js';

const RESULTS = /^(prediction\.results-|predictions_)/;
const ERRORS = /^(prediction\.errors_stats-|errors_)/;

/** One line of a results file (PredictionResult: instance or key, then prediction or error). */
export interface ResultLine {
  instance?: unknown;
  key?: unknown;
  prediction?: unknown;
  error?: { status?: unknown; message?: unknown };
}

/** One input file of a job, and its instances in order. */
export interface JobInput {
  /** gs://bucket/name */
  uri: string;
  /** The object's file name (the last segment). */
  name: string;
  /** Line of the file that holds the first instance (2 for CSV, after the header). */
  firstLine: number;
  instances: unknown[];
}

/** A job's output: every results line (any order) and every error line, with the files they came from. */
export interface JobOutput {
  results: ResultLine[];
  errors: string[];
  files: string[];
}

/** Per input file: the predictions in input order, and the failed instances (line number, error). */
export interface OrderedFile {
  input: JobInput;
  predictions: (unknown | undefined)[];
  failed: { line: number; error: string }[];
}

async function download(clients: GcpClients, bucket: string, name: string): Promise<Buffer> {
  const [data] = await call(
    `download gs://${bucket}/${name}`,
    () => clients.storage.bucket(bucket).file(name).download(),
    true,
  );
  return data;
}

/** Reads every results and error file of an output folder (gcsOutputDirectory). */
export async function readJobOutput(clients: GcpClients, directory: string): Promise<JobOutput> {
  const { bucket, key } = parseGsUri(directory);
  const prefix = key === '' || key.endsWith('/') ? key : `${key}/`;
  const [files] = await call(
    `list ${directory}`,
    () => clients.storage.bucket(bucket).getFiles({ prefix }),
    true,
  );
  const out: JobOutput = { results: [], errors: [], files: [] };
  for (const file of files) {
    const base = file.name.slice(prefix.length);
    const isResults = RESULTS.test(base);
    if (!isResults && !ERRORS.test(base)) continue;
    out.files.push(file.name);
    const text = (await download(clients, bucket, file.name)).toString('utf8');
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      if (!isResults) {
        out.errors.push(line.trim());
        continue;
      }
      try {
        out.results.push(JSON.parse(line) as ResultLine);
      } catch {
        throw new ModelportError('unavailable', `gs://${bucket}/${file.name} has a line that is not JSON`, {
          retryable: false,
        });
      }
    }
  }
  return out;
}

/** The objects an input URI names: one object, or the matches of a `*` wildcard (within one folder). */
async function inputObjects(clients: GcpClients, uri: string): Promise<{ bucket: string; name: string }[]> {
  const { bucket, key } = parseGsUri(uri);
  if (!key.includes('*')) return [{ bucket, name: key }];
  const [files] = await call(
    `list ${uri}`,
    () => clients.storage.bucket(bucket).getFiles({ prefix: key.slice(0, key.indexOf('*')) }),
    true,
  );
  const pattern = new RegExp(
    `^${key
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]*')}$`,
  );
  return files
    .map((f) => ({ bucket, name: f.name }))
    .filter((o) => pattern.test(o.name))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Reads a job's input files (its gcsSource URIs) and their instances, as Vertex reads them. */
export async function readJobInputs(
  clients: GcpClients,
  uris: readonly string[],
  format: string,
): Promise<JobInput[]> {
  const inputs: JobInput[] = [];
  for (const uri of uris) {
    for (const object of await inputObjects(clients, uri)) {
      const text = (await download(clients, object.bucket, object.name)).toString('utf8');
      inputs.push({
        uri: `gs://${object.bucket}/${object.name}`,
        name: object.name.slice(object.name.lastIndexOf('/') + 1),
        firstLine: format === 'csv' ? 2 : 1,
        instances: parseInstances(text, format),
      });
    }
  }
  return inputs;
}

/**
 * The instances of an input file: a JSON value per JSON Lines line; for CSV, an array per row after the
 * header row, numbers where an unquoted cell is a number, strings in double quotes (get-batch-predictions).
 * A line that cannot be read stands as undefined (Vertex reports it as an error, not as a prediction).
 */
export function parseInstances(text: string, format: string): unknown[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (format !== 'csv') {
    return lines.map((line) => {
      try {
        return JSON.parse(line) as unknown;
      } catch {
        return undefined;
      }
    });
  }
  return lines.slice(1).map(csvRow);
}

function csvRow(line: string): unknown[] | undefined {
  const cells: unknown[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= line.length) return undefined;
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += line[i];
        i++;
      }
      cells.push(value);
    } else {
      const end = line.indexOf(',', i);
      const raw = (end === -1 ? line.slice(i) : line.slice(i, end)).trim();
      cells.push(raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw);
      i = end === -1 ? line.length : end;
    }
    if (i >= line.length) return cells;
    if (line[i] !== ',') return undefined;
    i++;
  }
}

/** A canonical text of a JSON value (object keys sorted), to match an echoed instance to its input. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/**
 * Puts the results back in input order, per input file: each result goes to the first unmatched input
 * instance equal to its echoed `instance` (equal instances get equal predictions, so which of them does
 * not matter). An instance no result matches failed; its error is the job's first error line.
 */
export function inInputOrder(inputs: readonly JobInput[], output: JobOutput): OrderedFile[] {
  const slots = new Map<string, { file: number; index: number }[]>();
  const files: OrderedFile[] = inputs.map((input) => ({
    input,
    predictions: input.instances.map(() => undefined),
    failed: [],
  }));
  const errorOf = new Map<string, string>();
  inputs.forEach((input, file) =>
    input.instances.forEach((instance, index) => {
      if (instance === undefined) return;
      const key = canonical(instance);
      const list = slots.get(key) ?? [];
      list.push({ file, index });
      slots.set(key, list);
    }),
  );
  for (const result of output.results) {
    if (!('instance' in result)) continue;
    const slot = slots.get(canonical(result.instance))?.shift();
    if (slot === undefined) continue;
    const file = files[slot.file] as OrderedFile;
    if (result.error !== undefined || !('prediction' in result)) {
      errorOf.set(`${slot.file}:${slot.index}`, String(result.error?.message ?? 'no prediction'));
      continue;
    }
    file.predictions[slot.index] = result.prediction;
  }
  const fallback = output.errors[0] ?? 'no prediction for this instance in the job output';
  files.forEach((file, f) =>
    file.predictions.forEach((p, i) => {
      if (p !== undefined) return;
      const error =
        file.input.instances[i] === undefined
          ? 'the line is not valid input'
          : (errorOf.get(`${f}:${i}`) ?? fallback);
      file.failed.push({ line: i + file.input.firstLine, error });
    }),
  );
  return files;
}
