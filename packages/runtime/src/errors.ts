const REQUEST_ERROR = Symbol.for('modelport/runtime/RequestError');

/** Codes a client can branch on; each maps to one HTTP status. */
export type RequestErrorCode =
  | 'invalid_input'
  | 'malformed_json'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'not_acceptable'
  | 'unavailable'
  | 'timeout'
  | 'internal';

const STATUS_BY_CODE: Readonly<Record<RequestErrorCode, number>> = {
  invalid_input: 400,
  malformed_json: 400,
  not_found: 404,
  method_not_allowed: 405,
  not_acceptable: 406,
  payload_too_large: 413,
  unsupported_media_type: 415,
  internal: 500,
  unavailable: 503,
  timeout: 504,
};

/** A request the server refuses; `status` is the HTTP status, the message is safe to show to the client. */
export class RequestError extends Error {
  readonly [REQUEST_ERROR] = true;
  readonly status: number;

  constructor(
    message: string,
    readonly code: RequestErrorCode = 'invalid_input',
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'RequestError';
    this.status = STATUS_BY_CODE[code];
  }

  /** Works across copies of this package (a brand, not `instanceof`). */
  static is(value: unknown): value is RequestError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[REQUEST_ERROR] === true
    );
  }
}

/** The model file is missing, unreadable, or not a model onnxruntime can load. */
export class ModelLoadError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ModelLoadError';
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
