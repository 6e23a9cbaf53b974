import { parseArgs } from 'node:util';

import { isLogLevel, type LogLevel } from '../logger.js';

export const USAGE = `Usage: modelport-runtime --model <model.onnx> [options]

Serves one ONNX model over HTTP: SageMaker (/ping, /invocations), KServe v1 and v2 (Open Inference
Protocol), Vertex AI (AIP_* routes), Azure ML (/score) and Prometheus /metrics, all on one port.

Options:
  --model <path>          ONNX model file (required)
  --name <name>           name the model is served under (default: the file name without extension)
  --host <host>           address to listen on (default 127.0.0.1; use 0.0.0.0 inside a container)
  --port <port>           port (default: AIP_HTTP_PORT, else 8080; 0 picks a free one)
  --signature <file>      JSON file {"inputs": [...], "outputs": [...]} declaring the model's tensors
  --max-payload-mb <mb>   largest request body (default 6)
  --timeout-s <seconds>   answer 504 after this long (default 60)
  --grace-s <seconds>     on SIGTERM/SIGINT, wait this long for in-flight requests (default 30)
  --log-level <level>     debug | info | warn | error (default info; access logs at debug)
  -h, --help              show this help

Environment (Vertex AI custom containers): AIP_HTTP_PORT, AIP_HEALTH_ROUTE (default /health),
AIP_PREDICT_ROUTE (default /predict). SageMaker Batch Transform: SAGEMAKER_MAX_PAYLOAD_IN_MB is the
default of --max-payload-mb.
Listens at once (printing {"msg":"listening",...}) and loads the model meanwhile: readiness routes answer
503 until it is loaded, then it prints {"level":"info","msg":"ready","port":N,"url":...}. Exit codes: 0
after a clean shutdown, 1 when the server cannot start (bad arguments, model missing or unreadable, port
in use).`;

export interface ServeArgs {
  help: boolean;
  model: string;
  name?: string;
  host: string;
  port: number;
  signature?: string;
  maxPayloadBytes: number;
  requestTimeoutMs: number;
  graceMs: number;
  logLevel: LogLevel;
  healthRoute: string;
  predictRoute: string;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function positiveNumber(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!(Number.isFinite(value) && value > 0))
    throw new UsageError(`${flag} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

function port(source: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new UsageError(`${source} must be a port number (0-65535), got ${JSON.stringify(raw)}`);
  }
  return value;
}

function route(source: string, raw: string | undefined, fallback: string): string {
  if (raw === undefined || raw === '') return fallback;
  if (!raw.startsWith('/')) throw new UsageError(`${source} must start with "/", got ${JSON.stringify(raw)}`);
  return raw;
}

/**
 * --max-payload-mb, else the mini-batch size a SageMaker Batch Transform job will send (it sets
 * SAGEMAKER_MAX_PAYLOAD_IN_MB when the job sets MaxPayloadInMB,
 * https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-batch-code.html; 0 means unbounded and
 * is ignored), else 6.
 */
function maxPayloadMB(flag: string | undefined, env: NodeJS.ProcessEnv): number {
  if (flag !== undefined) return positiveNumber('--max-payload-mb', flag, 6);
  const batch = env['SAGEMAKER_MAX_PAYLOAD_IN_MB'];
  if (batch !== undefined && batch !== '' && batch !== '0')
    return positiveNumber('SAGEMAKER_MAX_PAYLOAD_IN_MB', batch, 6);
  return 6;
}

export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv): ServeArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        model: { type: 'string' },
        name: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        signature: { type: 'string' },
        'max-payload-mb': { type: 'string' },
        'timeout-s': { type: 'string' },
        'grace-s': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const logLevel = values['log-level'] ?? 'info';
  if (!isLogLevel(logLevel))
    throw new UsageError(`--log-level must be debug, info, warn or error, got ${JSON.stringify(logLevel)}`);
  const help = values.help === true;
  if (!help && (values.model === undefined || values.model === ''))
    throw new UsageError('--model <path> is required');
  const args: ServeArgs = {
    help,
    model: values.model ?? '',
    host: values.host ?? '127.0.0.1',
    port:
      values.port !== undefined
        ? port('--port', values.port)
        : env['AIP_HTTP_PORT'] !== undefined && env['AIP_HTTP_PORT'] !== ''
          ? port('AIP_HTTP_PORT', env['AIP_HTTP_PORT'])
          : 8080,
    maxPayloadBytes: Math.round(maxPayloadMB(values['max-payload-mb'], env) * 1024 * 1024),
    requestTimeoutMs: Math.round(positiveNumber('--timeout-s', values['timeout-s'], 60) * 1000),
    graceMs: Math.round(positiveNumber('--grace-s', values['grace-s'], 30) * 1000),
    logLevel,
    healthRoute: route('AIP_HEALTH_ROUTE', env['AIP_HEALTH_ROUTE'], '/health'),
    predictRoute: route('AIP_PREDICT_ROUTE', env['AIP_PREDICT_ROUTE'], '/predict'),
  };
  if (values.name !== undefined) args.name = values.name;
  if (values.signature !== undefined) args.signature = values.signature;
  return args;
}
