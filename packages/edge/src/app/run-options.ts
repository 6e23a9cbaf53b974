import { parseArgs } from 'node:util';

export const RUN_USAGE = `Usage: run [serve] [options]

Verifies every file of this bundle against bundle.json (and its signature), then serves the model over
HTTP: SageMaker (/ping, /invocations), KServe v1 and v2, Vertex AI (AIP_* routes), Azure ML (/score) and
/metrics on one port, plus a store-and-forward queue on a second port. Refuses to start when a file was
changed, added or removed, or the signature does not verify.

Options:
  --port <n>            HTTP port (default: MODELPORT_PORT, SAGEMAKER_BIND_TO_PORT, AIP_HTTP_PORT, else 8080)
  --host <addr>         address to bind (default: MODELPORT_HOST, else 127.0.0.1)
  --queue-port <n|off>  port of the async queue (default: MODELPORT_QUEUE_PORT, else port + 1; 0 picks one)
  --state-dir <dir>     where queued requests and results are kept (default: MODELPORT_STATE_DIR, else <bundle>/var)
  --pubkey <file>       the public key the bundle must be signed with (default: MODELPORT_PUBKEY); without
                        it, a signed bundle is checked against its embedded key (integrity, not origin)
  --require-signature   refuse an unsigned bundle (also MODELPORT_REQUIRE_SIGNATURE=1)
  --model <file>        serve this ONNX file instead of the bundled model (default: MODELPORT_MODEL)
  --name <name>         model name on the KServe/OIP routes (default: MODELPORT_MODEL_NAME, else the bundle's)
  --max-payload-mb <n>  largest synchronous request (default: MODELPORT_MAX_PAYLOAD_MB, the manifest's, else 6)
  --timeout-s <n>       per-request timeout (default: MODELPORT_TIMEOUT_S, the manifest's, else 60)
  --queue-max-mb <n>    largest queued request (default 1024)
  --log-level <level>   debug | info | warn | error (default: MODELPORT_LOG_LEVEL, else info)
  --verify-only         verify, print the report as JSON and exit (0 when valid, 3 when not)
  -h, --help            show this help

Exit codes: 0 clean shutdown; 1 cannot start; 2 bad arguments; 3 the bundle failed verification.`;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface RunOptions {
  help: boolean;
  port: number;
  host: string;
  /** undefined: no queue. */
  queuePort: number | undefined;
  stateDir: string | undefined;
  pubkey: string | undefined;
  requireSignature: boolean;
  model: string | undefined;
  /** Served model name; the platforms (KServe, the AWS provider) set it to the deployment's. */
  name: string | undefined;
  maxPayloadMB: number | undefined;
  timeoutSeconds: number | undefined;
  queueMaxMB: number;
  logLevel: LogLevel;
  verifyOnly: boolean;
  healthRoute: string;
  predictRoute: string;
}

export class RunUsageError extends Error {
  override readonly name = 'RunUsageError';
}

function portNumber(source: string, raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new RunUsageError(`${source} must be a port number (0-65535), got ${JSON.stringify(raw)}`);
  }
  return value;
}

function positive(source: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!(Number.isFinite(value) && value > 0))
    throw new RunUsageError(`${source} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function route(source: string, raw: string | undefined, fallback: string): string {
  if (raw === undefined || raw === '') return fallback;
  if (!raw.startsWith('/'))
    throw new RunUsageError(`${source} must start with "/", got ${JSON.stringify(raw)}`);
  return raw;
}

export function parseRunOptions(argv: readonly string[], env: NodeJS.ProcessEnv): RunOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'queue-port': { type: 'string' },
        'state-dir': { type: 'string' },
        pubkey: { type: 'string' },
        'require-signature': { type: 'boolean' },
        model: { type: 'string' },
        name: { type: 'string' },
        'max-payload-mb': { type: 'string' },
        'timeout-s': { type: 'string' },
        'queue-max-mb': { type: 'string' },
        'log-level': { type: 'string' },
        'verify-only': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new RunUsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  // SageMaker starts serving containers as `docker run <image> serve`: accept and ignore it.
  const extra = positionals.filter((p, i) => !(i === 0 && p === 'serve'));
  if (extra.length > 0) throw new RunUsageError(`unexpected argument ${JSON.stringify(extra[0])}`);

  const portSource: [string, string | undefined][] = [
    ['--port', values.port],
    ['MODELPORT_PORT', nonEmpty(env['MODELPORT_PORT'])],
    ['SAGEMAKER_BIND_TO_PORT', nonEmpty(env['SAGEMAKER_BIND_TO_PORT'])],
    ['AIP_HTTP_PORT', nonEmpty(env['AIP_HTTP_PORT'])],
  ];
  const [portName, portRaw] = portSource.find(([, v]) => v !== undefined) ?? ['default', '8080'];
  const port = portNumber(portName, portRaw ?? '8080');

  const queueRaw = values['queue-port'] ?? nonEmpty(env['MODELPORT_QUEUE_PORT']);
  let queuePort: number | undefined;
  if (queueRaw === undefined) queuePort = port === 0 ? 0 : port + 1;
  else if (queueRaw === 'off') queuePort = undefined;
  else queuePort = portNumber('--queue-port', queueRaw);
  if (queuePort !== undefined && queuePort > 65535)
    throw new RunUsageError(`the queue port ${queuePort} is out of range: give --queue-port`);

  const logLevel = values['log-level'] ?? nonEmpty(env['MODELPORT_LOG_LEVEL']) ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    throw new RunUsageError(
      `--log-level must be debug, info, warn or error, got ${JSON.stringify(logLevel)}`,
    );
  }
  const requireEnv = nonEmpty(env['MODELPORT_REQUIRE_SIGNATURE']);
  return {
    help: values.help === true,
    port,
    host: values.host ?? nonEmpty(env['MODELPORT_HOST']) ?? '127.0.0.1',
    queuePort,
    stateDir: values['state-dir'] ?? nonEmpty(env['MODELPORT_STATE_DIR']),
    pubkey: values.pubkey ?? nonEmpty(env['MODELPORT_PUBKEY']),
    requireSignature:
      values['require-signature'] === true ||
      (requireEnv !== undefined && requireEnv !== '0' && requireEnv !== 'false'),
    model: values.model ?? nonEmpty(env['MODELPORT_MODEL']),
    name: values.name ?? nonEmpty(env['MODELPORT_MODEL_NAME']),
    maxPayloadMB: positive(
      '--max-payload-mb',
      values['max-payload-mb'] ?? nonEmpty(env['MODELPORT_MAX_PAYLOAD_MB']),
    ),
    timeoutSeconds: positive('--timeout-s', values['timeout-s'] ?? nonEmpty(env['MODELPORT_TIMEOUT_S'])),
    queueMaxMB: positive('--queue-max-mb', values['queue-max-mb']) ?? 1024,
    logLevel: logLevel as LogLevel,
    verifyOnly: values['verify-only'] === true,
    healthRoute: route('AIP_HEALTH_ROUTE', env['AIP_HEALTH_ROUTE'], '/health'),
    predictRoute: route('AIP_PREDICT_ROUTE', env['AIP_PREDICT_ROUTE'], '/predict'),
  };
}
