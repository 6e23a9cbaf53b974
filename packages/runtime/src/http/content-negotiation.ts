import { RequestError } from '../errors.js';

export type BodyFormat = 'json' | 'csv';

/** The media type of a Content-Type header, lower-cased, without parameters ('' when absent). */
export function mediaType(header: string | undefined): string {
  if (header === undefined) return '';
  const semi = header.indexOf(';');
  return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
}

/** Which parser a request body needs; no Content-Type means JSON (curl-friendly). */
export function requestFormat(header: string | undefined, allowCsv: boolean): BodyFormat {
  const type = mediaType(header);
  if (
    type === '' ||
    type === 'application/json' ||
    (type.startsWith('application/') && type.endsWith('+json'))
  ) {
    return 'json';
  }
  if (allowCsv && type === 'text/csv') return 'csv';
  throw new RequestError(
    `unsupported Content-Type ${JSON.stringify(header)}; send application/json${allowCsv ? ' or text/csv' : ''}`,
    'unsupported_media_type',
  );
}

/** Picks the response format from an Accept header, in the client's order of preference. */
export function responseFormat(header: string | undefined, allowCsv: boolean): BodyFormat {
  if (header === undefined || header === '' || header === '*/*' || header === 'application/json')
    return 'json';
  let best: BodyFormat | undefined;
  let bestQ = 0;
  for (const part of header.split(',')) {
    const [rawType = '', ...params] = part.split(';');
    const type = rawType.trim().toLowerCase();
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!(q > bestQ)) continue;
    let format: BodyFormat | undefined;
    if (type === 'application/json' || type === 'application/*' || type === '*/*') format = 'json';
    else if (allowCsv && (type === 'text/csv' || type === 'text/*')) format = 'csv';
    if (format !== undefined) {
      best = format;
      bestQ = q;
    }
  }
  if (best === undefined) {
    throw new RequestError(
      `cannot answer with ${JSON.stringify(header)}; accepted: application/json${allowCsv ? ', text/csv' : ''}`,
      'not_acceptable',
    );
  }
  return best;
}
