import { describe, expect, it } from 'vitest';

import { mediaType, requestFormat, responseFormat } from './content-negotiation.js';

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
    expect(() => requestFormat('text/plain', true)).toThrow(/send application\/json or text\/csv/);
  });

  it('honours the Accept order and q-values', () => {
    expect(responseFormat(undefined, true)).toBe('json');
    expect(responseFormat('text/csv', true)).toBe('csv');
    expect(responseFormat('text/csv;q=0.5, application/json', true)).toBe('json');
    expect(responseFormat('application/json;q=0.1, text/csv', true)).toBe('csv');
    expect(responseFormat('text/*', true)).toBe('csv');
    expect(responseFormat('text/html, */*;q=0.1', true)).toBe('json');
    expect(() => responseFormat('text/csv', false)).toThrow(/cannot answer with "text\/csv"/);
    expect(() => responseFormat('application/xml', true)).toThrow(/accepted: application\/json, text\/csv/);
  });
});
