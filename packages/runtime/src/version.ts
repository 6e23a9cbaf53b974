/** Reported by `GET /v2`; kept in step with package.json. */
export const RUNTIME_NAME = 'modelport-runtime';
export const RUNTIME_VERSION = '0.1.0';
