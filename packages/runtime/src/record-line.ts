import { parseCsvLine } from './csv.js';
import { RequestError } from './errors.js';
import { jsonErrorDetail } from './json-body.js';

/** Formats with one record per line: the batch runner's files and /invocations bodies (JSON Lines, CSV). */
export type LineFormat = 'jsonl' | 'csv';

/**
 * One record of a line-oriented body or file, parsed the same way wherever it comes from: a JSON value
 * (JSON Lines) or a row of numbers (CSV). Throws a RequestError whose message does not name the line.
 */
export function parseRecordLine(format: LineFormat, text: string): unknown {
  if (format === 'csv') return parseCsvLine(text);
  try {
    return JSON.parse(text);
  } catch (error) {
    const { position, reason } = jsonErrorDetail(text, error);
    throw new RequestError(
      `malformed JSON${position === undefined ? '' : ` at column ${position + 1}`}: ${reason}`,
      'malformed_json',
    );
  }
}
