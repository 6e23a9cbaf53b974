import { RequestError } from '../errors.js';

/** `jsonl`: JSON Lines, one record per line (what SageMaker Batch Transform sends with SplitType Line). */
export type BodyFormat = 'json' | 'csv' | 'jsonl';

/** A response format and the media type to label it with (the one the client asked for). */
export interface ResponseType {
  format: BodyFormat;
  contentType: string;
}

/**
 * JSON Lines media types. Batch Transform sends the job's TransformInput.ContentType on every call
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/API_TransformInput.html); SageMaker's own algorithms
 * name JSON Lines `application/jsonlines` (https://docs.aws.amazon.com/sagemaker/latest/dg/cdf-inference.html);
 * the others are the common aliases.
 */
export const JSON_LINES_TYPES: readonly string[] = [
  'application/jsonlines',
  'application/jsonl',
  'application/x-ndjson',
  'application/x-jsonlines',
];
const JSON_LINES = new Set(JSON_LINES_TYPES);

/** The media type of a Content-Type header, lower-cased, without parameters ('' when absent). */
export function mediaType(header: string | undefined): string {
  if (header === undefined) return '';
  const semi = header.indexOf(';');
  return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
}

function acceptedList(records: boolean): string {
  return records ? `application/json, text/csv, ${JSON_LINES_TYPES.join(', ')}` : 'application/json';
}

/**
 * Which parser a request body needs; no Content-Type means JSON (curl-friendly). `records`: the route also
 * takes CSV and JSON Lines (SageMaker's /invocations).
 */
export function requestFormat(header: string | undefined, records: boolean): BodyFormat {
  const type = mediaType(header);
  if (
    type === '' ||
    type === 'application/json' ||
    (type.startsWith('application/') && type.endsWith('+json'))
  ) {
    return 'json';
  }
  if (records && type === 'text/csv') return 'csv';
  if (records && JSON_LINES.has(type)) return 'jsonl';
  throw new RequestError(
    `unsupported Content-Type ${JSON.stringify(header)}; send ${acceptedList(records).replace(/, (?=[^,]*$)/, ' or ')}`,
    'unsupported_media_type',
  );
}

const JSON_RESPONSE: ResponseType = { format: 'json', contentType: 'application/json' };

/** Picks the response format from an Accept header, in the client's order of preference. */
export function responseFormat(header: string | undefined, records: boolean): ResponseType {
  if (header === undefined || header === '' || header === '*/*' || header === 'application/json')
    return JSON_RESPONSE;
  let best: ResponseType | undefined;
  let bestQ = 0;
  for (const part of header.split(',')) {
    const [rawType = '', ...params] = part.split(';');
    const type = rawType.trim().toLowerCase();
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!(q > bestQ)) continue;
    let found: ResponseType | undefined;
    if (type === 'application/json' || type === 'application/*' || type === '*/*') found = JSON_RESPONSE;
    else if (records && (type === 'text/csv' || type === 'text/*'))
      found = { format: 'csv', contentType: 'text/csv' };
    else if (records && JSON_LINES.has(type)) found = { format: 'jsonl', contentType: type };
    if (found !== undefined) {
      best = found;
      bestQ = q;
    }
  }
  if (best === undefined) {
    throw new RequestError(
      `cannot answer with ${JSON.stringify(header)}; accepted: ${acceptedList(records)}`,
      'not_acceptable',
    );
  }
  return best;
}
