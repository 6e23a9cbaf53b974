import { parseArgs } from 'node:util';

export const RUN_USAGE = `Usage: run [serve] [options]
       run batch [options]

Verifies every file of this bundle against bundle.json (and its signature), then (serve, the default)
serves the model over HTTP: SageMaker (/ping, /invocations), KServe v1 and v2, Vertex AI (AIP_* routes),
Azure ML (/score) and /metrics on one port, plus a store-and-forward queue on a second port; or (batch)
runs every input file through the model, writes the predictions and exits. Refuses to start when a file
was changed, added or removed, or the signature does not verify.

Which model (the first that applies; logged as {"msg":"model source"}):
  --model, MODELPORT_MODEL (or MODELPORT_MODEL_URI)
                        an .onnx file, or a folder holding one .onnx file at its top or one folder down
                        (SageMaker's extracted model.tar.gz, KServe's storage folder); an s3:// object
                        (.onnx, or .tar.gz/.tgz, extracted) or prefix, downloaded first; a relative name
                        not found here: inside AZUREML_MODEL_DIR, or in the AIP_STORAGE_URI folder
  AZUREML_MODEL_DIR     Azure ML's mounted model folder: the one .onnx file up to two folders down
  AIP_STORAGE_URI       Vertex AI: the one .onnx file in that gs:// folder, downloaded first
  (none of these)       the model inside the bundle
  A signature.json beside the chosen .onnx file (or at the top of the given folder) declares its inputs
  and outputs; the bundled model uses the bundle's signature.

Options (serve):
  --port <n>            HTTP port (default: MODELPORT_PORT, SAGEMAKER_BIND_TO_PORT, AIP_HTTP_PORT, else 8080)
  --host <addr>         address to bind (default: MODELPORT_HOST, else 127.0.0.1)
  --queue-port <n|off>  port of the async queue (default: MODELPORT_QUEUE_PORT, else port + 1; 0 picks one)
  --state-dir <dir>     where queued requests and results are kept (default: MODELPORT_STATE_DIR, else <bundle>/var)
  --name <name>         model name on the KServe/OIP routes (default: MODELPORT_MODEL_NAME, else the bundle's)
  --max-payload-mb <n>  largest synchronous request (default: SAGEMAKER_MAX_PAYLOAD_IN_MB, which a SageMaker
                        Batch Transform job sets to its MaxPayloadInMB (0: unset), MODELPORT_MAX_PAYLOAD_MB,
                        the manifest's, else 6)
  --timeout-s <n>       per-request timeout (default: MODELPORT_TIMEOUT_S, the manifest's, else 60)
  --queue-max-mb <n>    largest queued request (default 1024)

Options (batch; also selected by MODELPORT_MODE=batch):
  --input <path|s3://>  an input file, a folder or an s3://bucket/prefix/ (default: MODELPORT_BATCH_INPUT)
  --output <path|s3://> folder or s3://bucket/prefix/ for <file>.out (JSON Lines, one prediction per valid
                        input record, in order) and <file>.errors.jsonl ({"line","error"} per bad record)
                        (default: MODELPORT_BATCH_OUTPUT)
  --format <jsonl|csv>  how to read every input (default: MODELPORT_BATCH_FORMAT, else by extension:
                        .jsonl/.ndjson/.csv; without a format other files of a folder are not inputs)
  --batch-size <n>      records per inference call (default: MODELPORT_BATCH_SIZE, else 1024)
  --max-failed <n>      bad records the job tolerates (default: MODELPORT_BATCH_MAX_FAILED, else 0); the
                        job stops and fails at the next one
  --shards <n>          take only the sorted input files i with i % n == the shard index
                        (default: MODELPORT_BATCH_SHARDS)
  --shard-index <i>     this container's shard (default: JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs),
                        else AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array jobs))
  A finished input is marked in <output>/.modelport/<file>.done.json (bound to its SHA-256, or its S3 ETag):
  a job run again skips it, and continues an unfinished local file from its checkpoint.
  S3 uses the AWS SDK's default credentials (environment, ECS/Batch container credentials, instance
  profile), AWS_REGION or AWS_DEFAULT_REGION, and AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (then
  path-style addressing).

Options (both):
  --model <path|s3://>  see above (default: MODELPORT_MODEL)
  --pubkey <file>       the public key the bundle must be signed with (default: MODELPORT_PUBKEY); without
                        it, a signed bundle is checked against its embedded key (integrity, not origin)
  --require-signature   refuse an unsigned bundle (also MODELPORT_REQUIRE_SIGNATURE=1)
  --log-level <level>   debug | info | warn | error (default: MODELPORT_LOG_LEVEL, else info)
  --verify-only         verify, print the report as JSON and exit (0 when valid, 3 when not)
  -h, --help            show this help

Exit codes:
  0  serve: clean shutdown (SIGTERM); batch: every input done, no more bad records than --max-failed
  1  the model cannot be found, downloaded or loaded; batch: an input or output cannot be read or
     written, more bad records than --max-failed, or the job was stopped (SIGTERM) before the end
  2  bad arguments
  3  the bundle failed verification`;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type RunMode = 'serve' | 'batch';
export type ModelFrom = '--model' | 'MODELPORT_MODEL' | 'MODELPORT_MODEL_URI';

/** `run batch`: where the inputs are, where the outputs go, and how strict the job is. */
export interface BatchOptions {
  /** A local file or folder, or s3://bucket/key or s3://bucket/prefix/. */
  input: string;
  /** A local folder or s3://bucket/prefix/. */
  output: string;
  /** How every input is read; undefined: by extension. */
  format: 'jsonl' | 'csv' | undefined;
  /** Records per inference call; undefined: the runtime's default. */
  batchSize: number | undefined;
  /** Bad records tolerated; one more fails the job. */
  maxFailed: number;
  /** This container's share of the sorted input files. */
  shard: { index: number; count: number } | undefined;
}

export interface RunOptions {
  help: boolean;
  mode: RunMode;
  port: number;
  host: string;
  /** undefined: no queue. */
  queuePort: number | undefined;
  stateDir: string | undefined;
  pubkey: string | undefined;
  requireSignature: boolean;
  model: string | undefined;
  /** Where `model` was given. */
  modelFrom: ModelFrom | undefined;
  /** Azure ML's mounted model folder (AZUREML_MODEL_DIR). */
  azureModelDir: string | undefined;
  /** Present in batch mode. */
  batch: BatchOptions | undefined;
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

function count(source: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isSafeInteger(value) || value < min) {
    throw new RunUsageError(
      `${source} must be ${min === 0 ? 'a whole number (0 or more)' : 'a positive whole number'}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/**
 * The payload limit: the flag, else what a SageMaker Batch Transform job will send (SAGEMAKER_MAX_PAYLOAD_IN_MB,
 * https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-batch-code.html; 0 means no limit was set)
 * since refusing the platform's own mini-batches fails the job, else MODELPORT_MAX_PAYLOAD_MB.
 */
function maxPayloadMB(flag: string | undefined, env: NodeJS.ProcessEnv): number | undefined {
  if (flag !== undefined) return positive('--max-payload-mb', flag);
  const transform = nonEmpty(env['SAGEMAKER_MAX_PAYLOAD_IN_MB']);
  if (transform !== undefined && transform !== '0') return positive('SAGEMAKER_MAX_PAYLOAD_IN_MB', transform);
  return positive('MODELPORT_MAX_PAYLOAD_MB', nonEmpty(env['MODELPORT_MAX_PAYLOAD_MB']));
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
        input: { type: 'string' },
        output: { type: 'string' },
        format: { type: 'string' },
        'batch-size': { type: 'string' },
        'max-failed': { type: 'string' },
        shards: { type: 'string' },
        'shard-index': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new RunUsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  // SageMaker starts serving containers as `docker run <image> serve`; `batch` runs to completion.
  // The argument wins over MODELPORT_MODE (the AWS Batch job definition sets it).
  const first = positionals[0];
  const modeArgument = first === 'serve' || first === 'batch' ? first : undefined;
  const extra = modeArgument === undefined ? positionals : positionals.slice(1);
  if (extra.length > 0) throw new RunUsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  const modeEnv = nonEmpty(env['MODELPORT_MODE']);
  if (modeEnv !== undefined && modeEnv !== 'serve' && modeEnv !== 'batch') {
    throw new RunUsageError(`MODELPORT_MODE must be serve or batch, got ${JSON.stringify(modeEnv)}`);
  }
  const mode: RunMode = modeArgument ?? modeEnv ?? 'serve';
  const batch = mode === 'batch' && values.help !== true ? batchOptions(values, env) : undefined;
  if (mode === 'serve') {
    const batchFlag = BATCH_FLAGS.find((f) => values[f] !== undefined);
    if (batchFlag !== undefined) throw new RunUsageError(`--${batchFlag} is an option of \`run batch\``);
  }

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
  // MODELPORT_MODEL_URI: what the AWS Batch job definitions of earlier modelport versions set.
  const modelGiven = (
    [
      ['--model', values.model],
      ['MODELPORT_MODEL', nonEmpty(env['MODELPORT_MODEL'])],
      ['MODELPORT_MODEL_URI', nonEmpty(env['MODELPORT_MODEL_URI'])],
    ] as const
  ).find((entry): entry is readonly [ModelFrom, string] => entry[1] !== undefined);
  return {
    help: values.help === true,
    mode,
    port,
    host: values.host ?? nonEmpty(env['MODELPORT_HOST']) ?? '127.0.0.1',
    queuePort,
    stateDir: values['state-dir'] ?? nonEmpty(env['MODELPORT_STATE_DIR']),
    pubkey: values.pubkey ?? nonEmpty(env['MODELPORT_PUBKEY']),
    requireSignature:
      values['require-signature'] === true ||
      (requireEnv !== undefined && requireEnv !== '0' && requireEnv !== 'false'),
    model: modelGiven?.[1],
    modelFrom: modelGiven?.[0],
    azureModelDir: nonEmpty(env['AZUREML_MODEL_DIR']),
    batch,
    name: values.name ?? nonEmpty(env['MODELPORT_MODEL_NAME']),
    maxPayloadMB: maxPayloadMB(values['max-payload-mb'], env),
    timeoutSeconds: positive('--timeout-s', values['timeout-s'] ?? nonEmpty(env['MODELPORT_TIMEOUT_S'])),
    queueMaxMB: positive('--queue-max-mb', values['queue-max-mb']) ?? 1024,
    logLevel: logLevel as LogLevel,
    verifyOnly: values['verify-only'] === true,
    healthRoute: route('AIP_HEALTH_ROUTE', env['AIP_HEALTH_ROUTE'], '/health'),
    predictRoute: route('AIP_PREDICT_ROUTE', env['AIP_PREDICT_ROUTE'], '/predict'),
  };
}

const BATCH_FLAGS = [
  'input',
  'output',
  'format',
  'batch-size',
  'max-failed',
  'shards',
  'shard-index',
] as const;

function batchOptions(
  values: Partial<Record<(typeof BATCH_FLAGS)[number], string | undefined>>,
  env: NodeJS.ProcessEnv,
): BatchOptions {
  const input = values.input ?? nonEmpty(env['MODELPORT_BATCH_INPUT']);
  const output = values.output ?? nonEmpty(env['MODELPORT_BATCH_OUTPUT']);
  if (input === undefined) throw new RunUsageError('batch mode needs --input (or MODELPORT_BATCH_INPUT)');
  if (output === undefined) throw new RunUsageError('batch mode needs --output (or MODELPORT_BATCH_OUTPUT)');
  const format = values.format ?? nonEmpty(env['MODELPORT_BATCH_FORMAT']);
  if (format !== undefined && format !== 'jsonl' && format !== 'csv') {
    throw new RunUsageError(`--format must be jsonl or csv, got ${JSON.stringify(format)}`);
  }
  const shardsRaw = values.shards ?? nonEmpty(env['MODELPORT_BATCH_SHARDS']);
  const indexSource: [string, string | undefined][] = [
    ['--shard-index', values['shard-index']],
    ['JOB_COMPLETION_INDEX', nonEmpty(env['JOB_COMPLETION_INDEX'])],
    ['AWS_BATCH_JOB_ARRAY_INDEX', nonEmpty(env['AWS_BATCH_JOB_ARRAY_INDEX'])],
  ];
  const [indexName, indexRaw] = indexSource.find(([, v]) => v !== undefined) ?? ['', undefined];
  let shard: BatchOptions['shard'];
  const shards = count('--shards', shardsRaw, 1);
  if (shards !== undefined) {
    const index = count(indexName, indexRaw, 0);
    if (index === undefined) {
      throw new RunUsageError(
        '--shards needs a shard index: --shard-index, JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX',
      );
    }
    if (index >= shards) {
      throw new RunUsageError(`${indexName} ${index} is not below the number of shards ${shards}`);
    }
    shard = { index, count: shards };
  } else if (values['shard-index'] !== undefined) {
    throw new RunUsageError('--shard-index needs --shards (or MODELPORT_BATCH_SHARDS)');
  }
  return {
    input,
    output,
    format,
    batchSize: count('--batch-size', values['batch-size'] ?? nonEmpty(env['MODELPORT_BATCH_SIZE']), 1),
    maxFailed:
      count('--max-failed', values['max-failed'] ?? nonEmpty(env['MODELPORT_BATCH_MAX_FAILED']), 0) ?? 0,
    shard,
  };
}
