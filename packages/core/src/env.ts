import { ModelportError } from './errors.js';

/**
 * A positive number from the environment variable `name`: `fallback` when it is unset or empty, an
 * `invalidInput` error when it is not a finite number above zero. Providers read their poll and wait
 * settings (`MODELPORT_<CLOUD>_POLL_MS`, …) through it.
 */
export function positiveFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(Number.isFinite(value) && value > 0)) {
    throw new ModelportError('invalidInput', `${name} must be a positive number, got ${JSON.stringify(raw)}`);
  }
  return value;
}
