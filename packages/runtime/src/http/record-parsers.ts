import { RequestError } from '../errors.js';
import { parseRecordLine, type LineFormat } from '../record-line.js';
import type { JsonBodyShape } from './body-shapes.js';
import { JsonArraySplitter } from './json-array-splitter.js';
import { LineSplitter } from './line-splitter.js';

/** Turns body bytes into instances as they arrive; `end()` checks the body is complete. */
export interface RecordParser {
  push(chunk: Buffer): void;
  end(): void;
}

export type OnRecord = (instance: unknown, bytes: number) => void;

/**
 * The largest single record (line or array element) of a streamed body: half of V8's longest string
 * (~512 MiB, and a record is decoded to one string), well above what one instance needs.
 */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

/**
 * JSON Lines or CSV: one instance per non-blank line, parsed as the batch runner parses a line of a file.
 * Errors name the line (1-based, blank lines counted).
 */
export function lineRecordParser(format: LineFormat, onRecord: OnRecord): RecordParser {
  const splitter = new LineSplitter((text, line, bytes) => {
    let instance: unknown;
    try {
      instance = parseRecordLine(format, text);
    } catch (error) {
      if (!RequestError.is(error)) throw error;
      const hint =
        line === 1 && format === 'csv' ? ' (CSV requests take rows of numbers, without a header)' : '';
      throw new RequestError(`line ${line}, ${error.message}${hint}`, error.code);
    }
    onRecord(instance, bytes);
  }, MAX_RECORD_BYTES);
  return splitter;
}

/** The elements of the array a protocol keeps its instances in, one JSON.parse each. */
export function jsonRecordParser(shape: JsonBodyShape, onRecord: OnRecord): RecordParser {
  const splitter = new JsonArraySplitter(shape.paths, onRecord, MAX_RECORD_BYTES);
  return {
    push: (chunk) => splitter.push(chunk),
    end() {
      splitter.end();
      if (splitter.found === undefined) throw new RequestError(shape.missing);
    },
  };
}

/** Every instance of a whole (small) line-oriented body. */
export function parseLineBody(format: LineFormat, body: Buffer): unknown[] {
  const instances: unknown[] = [];
  const parser = lineRecordParser(format, (instance) => instances.push(instance));
  parser.push(body);
  parser.end();
  return instances;
}
