import { RequestError } from './errors.js';

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

function parseField(raw: string): number | undefined {
  let field = raw.trim();
  if (field.length >= 2 && field.startsWith('"') && field.endsWith('"')) field = field.slice(1, -1).trim();
  return NUMBER.test(field) ? Number(field) : undefined;
}

/** One CSV line of numbers (no header, no text fields); the error names the 1-based column. */
export function parseCsvLine(line: string): number[] {
  const fields = line.split(',');
  const values = new Array<number>(fields.length);
  for (let i = 0; i < fields.length; i++) {
    const value = parseField(fields[i] as string);
    if (value === undefined) {
      throw new RequestError(
        `column ${i + 1}: ${JSON.stringify(truncate((fields[i] as string).trim()))} is not a number`,
      );
    }
    values[i] = value;
  }
  return values;
}

/** A first line whose fields are not all numbers (feature names) is taken for a header. */
export function isCsvHeader(line: string): boolean {
  return line.split(',').some((f) => parseField(f) === undefined);
}

/** A text/csv request body: one instance per non-empty line. */
export function parseCsvBody(text: string): number[][] {
  const instances: number[][] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] as string;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') continue;
    try {
      instances.push(parseCsvLine(line));
    } catch (error) {
      if (!RequestError.is(error)) throw error;
      const hint = i === 0 ? ' (CSV requests take rows of numbers, without a header)' : '';
      throw new RequestError(`line ${i + 1}, ${error.message}${hint}`);
    }
  }
  return instances;
}

/** Predictions as CSV: one line each, the values of every output flattened in output order. */
export function formatCsvPredictions(predictions: readonly unknown[]): string {
  let out = '';
  const values: unknown[] = [];
  for (const prediction of predictions) {
    values.length = 0;
    flatten(prediction, values);
    out += values.map(csvValue).join(',') + '\n';
  }
  return out;
}

function flatten(value: unknown, into: unknown[]): void {
  if (Array.isArray(value)) for (const v of value) flatten(v, into);
  else if (typeof value === 'object' && value !== null)
    for (const v of Object.values(value)) flatten(v, into);
  else into.push(value);
}

function csvValue(value: unknown): string {
  if (typeof value === 'string') return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
  return String(value);
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
