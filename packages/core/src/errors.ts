/**
 * The one error type modelport raises. Providers translate SDK errors into it at their boundary, the engine
 * reads `retryable`, and the CLI maps `kind` to an exit code.
 */
export type ErrorKind =
  | 'invalidInput'
  | 'notFound'
  | 'conflict'
  | 'throttled'
  | 'quota'
  | 'auth'
  | 'unavailable'
  | 'capability'
  | 'timeout'
  | 'internal';

/** Kinds that are worth another try by default. */
const RETRYABLE_KINDS: ReadonlySet<ErrorKind> = new Set(['throttled', 'unavailable', 'timeout']);

// A registered symbol so `is()` works across duplicate copies of this package (two versions in node_modules).
const BRAND = Symbol.for('modelport/ModelportError');

export interface ModelportErrorOptions {
  retryable?: boolean;
  cause?: unknown;
  /** What the user can do about it. */
  hint?: string;
  /** Extra structured facts for `--output json` (never secrets). */
  details?: Record<string, unknown>;
}

export class ModelportError extends Error {
  readonly kind: ErrorKind;
  readonly retryable: boolean;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly [BRAND] = true;

  constructor(kind: ErrorKind, message: string, options: ModelportErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ModelportError';
    this.kind = kind;
    this.retryable = options.retryable ?? RETRYABLE_KINDS.has(kind);
    this.hint = options.hint;
    this.details = options.details;
  }

  static is(value: unknown, kind?: ErrorKind): value is ModelportError {
    if (typeof value !== 'object' || value === null) return false;
    if ((value as Record<symbol, unknown>)[BRAND] !== true) return false;
    return kind === undefined || (value as ModelportError).kind === kind;
  }

  toJSON(): Record<string, unknown> {
    return {
      kind: this.kind,
      message: this.message,
      retryable: this.retryable,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** Wraps anything thrown into a ModelportError, keeping the original as `cause`. */
export function toModelportError(value: unknown, fallbackKind: ErrorKind = 'internal'): ModelportError {
  if (ModelportError.is(value)) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new ModelportError(fallbackKind, message, { cause: value });
}

/** Exit codes by kind: stable, documented in the README. */
export const EXIT_CODES: Readonly<Record<ErrorKind, number>> = {
  invalidInput: 2,
  notFound: 3,
  conflict: 4,
  capability: 5,
  auth: 6,
  quota: 7,
  throttled: 8,
  unavailable: 9,
  timeout: 10,
  internal: 1,
};
