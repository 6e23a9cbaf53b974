import { describe, expect, it } from 'vitest';

import { JSON_LINES_TYPES, mediaType, requestFormat, responseFormat } from './content-negotiation.js';

const format = (accept: string | undefined) => responseFormat(accept, true).format;

describe('content negotiation', () => {
  it('reads the media type of a Content-Type', () => {
    expect(mediaType('Application/JSON; charset=utf-8')).toBe('application/json');
    expect(mediaType(undefined)).toBe('');
  });

  it('picks the body parser, JSON when no type is given', () => {
    expect(requestFormat(undefined, false)).toBe('json');
    expect(requestFormat('application/json; charset=utf-8', false)).toBe('json');
    expect(requestFormat('application/vnd.api+json', false)).toBe('json');
    expect(requestFormat('text/csv', true)).toBe('csv');
    expect(() => requestFormat('text/csv', false)).toThrow(
      /unsupported Content-Type "text\/csv"; send application\/json$/,
    );
    expect(() => requestFormat('text/plain', true)).toThrow(
      /send application\/json, text\/csv, application\/jsonlines, .* or application\/x-jsonlines$/,
    );
  });

  it('takes JSON Lines under each of its media types on record routes only', () => {
    for (const type of JSON_LINES_TYPES) {
      expect(requestFormat(type, true)).toBe('jsonl');
      expect(requestFormat(`${type.toUpperCase()}; charset=utf-8`, true)).toBe('jsonl');
      expect(() => requestFormat(type, false)).toThrow(/unsupported Content-Type/);
    }
    expect(JSON_LINES_TYPES).toEqual([
      'application/jsonlines',
      'application/jsonl',
      'application/x-ndjson',
      'application/x-jsonlines',
    ]);
  });

  it('honours the Accept order and q-values', () => {
    expect(format(undefined)).toBe('json');
    expect(format('text/csv')).toBe('csv');
    expect(format('text/csv;q=0.5, application/json')).toBe('json');
    expect(format('application/json;q=0.1, text/csv')).toBe('csv');
    expect(format('text/*')).toBe('csv');
    expect(format('text/html, */*;q=0.1')).toBe('json');
    expect(() => responseFormat('text/csv', false)).toThrow(/cannot answer with "text\/csv"/);
    expect(() => responseFormat('application/xml', true)).toThrow(
      'cannot answer with "application/xml"; accepted: application/json, text/csv, application/jsonlines, application/jsonl, application/x-ndjson, application/x-jsonlines',
    );
  });

  it('answers JSON Lines labelled with the type the client asked for', () => {
    expect(responseFormat('application/jsonlines', true)).toEqual({
      format: 'jsonl',
      contentType: 'application/jsonlines',
    });
    expect(responseFormat('application/x-ndjson;q=0.9, text/csv;q=0.5', true)).toEqual({
      format: 'jsonl',
      contentType: 'application/x-ndjson',
    });
    expect(responseFormat('text/csv', true)).toEqual({ format: 'csv', contentType: 'text/csv' });
    expect(() => responseFormat('application/jsonlines', false)).toThrow(/accepted: application\/json$/);
  });
});
