import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

import { formatCsvPredictions, parseCsvBody } from '../csv.js';
import { errorMessage, RequestError, type RequestErrorCode } from '../errors.js';
import { parseJsonBody } from '../json-body.js';
import { createJsonLogger, type Logger } from '../logger.js';
import type { ServedModel } from '../onnx-model.js';
import { v2TensorMetadata, type V2InferRequest, type V2ModelMetadata } from '../v2-protocol.js';
import { RUNTIME_NAME, RUNTIME_VERSION } from '../version.js';
import { requestFormat, responseFormat } from './content-negotiation.js';
import { ServerMetrics, type MetricsSnapshot } from './metrics.js';
import { formatBytes, readBody, type BodyRead } from './read-body.js';
import { Route, Router, type RouteId, type RouteMatch } from './router.js';

export const DEFAULT_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
export const DEFAULT_GRACE_MS = 30_000;
/** Longer than the 60 s idle timeout of common load balancers, so they close first. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** Vertex AI custom-container settings (the bin reads them from AIP_HTTP_PORT, AIP_HEALTH_ROUTE, AIP_PREDICT_ROUTE). */
export interface VertexOptions {
  /** Port to listen on when `port` is not given. */
  port?: number;
  healthRoute?: string;
  predictRoute?: string;
}

export interface ServerOptions {
  model: ServedModel;
  /** Default 127.0.0.1; inside a container pass 0.0.0.0 explicitly. */
  host?: string;
  /** 0 picks a free port. Default: `vertex.port`, else 8080 (what SageMaker expects). */
  port?: number;
  /** Largest accepted request body; default 6 MiB. */
  maxPayloadBytes?: number;
  /** Time from request start to response before the server answers 504; default 60 s. */
  requestTimeoutMs?: number;
  /** Default: JSON lines on stdout at level info. Per-request access logs are written at debug only. */
  logger?: Logger;
  vertex?: VertexOptions;
}

export interface RunningServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Counters since start (the same numbers `GET /metrics` renders). */
  readonly metrics: MetricsSnapshot;
  /**
   * Graceful stop: refuse new connections, answer 503 on readiness routes, let in-flight requests finish
   * (for up to `graceMs`, default 30 s), then close the remaining keep-alive sockets.
   */
  close(graceMs?: number): Promise<void>;
}

/** State of one request/response pair. */
class Exchange {
  done = false;
  timer: NodeJS.Timeout | undefined;
  body: BodyRead | undefined;
  /** True while the request still has body bytes the server has not read. */
  bodyPending: boolean;
  allow: string | undefined;
  /** Why the request failed, for the access log. */
  error: string | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    public route: RouteId,
    readonly started: number,
  ) {
    const length = req.headers['content-length'];
    this.bodyPending =
      (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
  }
}

const JSON_TYPE = 'application/json';
/** Most request bytes the server reads and throws away after refusing a request, before it hangs up. */
const DISCARD_LIMIT_BYTES = 64 * 1024 * 1024;

/** Starts discarding the rest of a body the server will not use; false when it is too big to wait for. */
function discardBody(req: IncomingMessage): boolean {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > DISCARD_LIMIT_BYTES) return false;
  let seen = 0;
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > DISCARD_LIMIT_BYTES) req.socket.destroy();
  });
  req.resume();
  return true;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const model = opts.model;
  const logger = opts.logger ?? createJsonLogger();
  const limit = opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const timeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? opts.vertex?.port ?? 8080;
  const router = new Router({
    healthRoute: opts.vertex?.healthRoute ?? '/health',
    predictRoute: opts.vertex?.predictRoute ?? '/predict',
  });
  const metrics = new ServerMetrics(router.labels);
  const accessLog = logger.enabled('debug');
  const notServed = (name: string) =>
    new RequestError(
      `model ${JSON.stringify(name)} is not served here; this server serves ${JSON.stringify(model.name)}`,
      'not_found',
    );
  // Answers that never change are rendered once.
  const v2ServerMetadata = JSON.stringify({ name: RUNTIME_NAME, version: RUNTIME_VERSION, extensions: [] });
  const modelMetadata: V2ModelMetadata = {
    name: model.name,
    versions: [model.version],
    platform: 'onnxruntime_onnx',
    inputs: model.signature.inputs.map(v2TensorMetadata),
    outputs: model.signature.outputs.map(v2TensorMetadata),
  };
  const v2ModelMetadata = JSON.stringify(modelMetadata);

  let inflight = 0;
  let draining = false;
  let onDrained: (() => void) | undefined;

  function send(ex: Exchange, status: number, contentType: string, body: string): void {
    if (ex.done) return;
    ex.done = true;
    clearTimeout(ex.timer);
    const res = ex.res;
    if (!res.headersSent && !res.destroyed) {
      const headers: string[] = [
        'content-type',
        contentType,
        'content-length',
        String(Buffer.byteLength(body)),
      ];
      // A draining server wants the socket back. Unread body bytes are read and thrown away (up to a
      // bound) rather than cut off: closing while the client still sends makes it see EPIPE/ECONNRESET
      // instead of the 413 that explains why.
      // A client stalled mid-body (504) or waiting for `100 Continue` will send nothing more.
      const stalled = status === 504 || /100-continue/i.test(ex.req.headers.expect ?? '');
      if (draining || (ex.bodyPending && (stalled || !discardBody(ex.req))))
        headers.push('connection', 'close');
      if (ex.allow !== undefined) headers.push('allow', ex.allow);
      res.writeHead(status, headers);
      res.end(body);
    }
    const seconds = (performance.now() - ex.started) / 1000;
    metrics.observe(ex.route, status, seconds);
    if (accessLog) {
      const fields: Record<string, unknown> = { method: ex.req.method, url: ex.req.url, status };
      fields['ms'] = +(seconds * 1000).toFixed(3);
      if (ex.error !== undefined) fields['error'] = ex.error;
      logger.debug('request', fields);
    }
    inflight--;
    if (inflight === 0) onDrained?.();
  }

  const sendJson = (ex: Exchange, status: number, body: string) => send(ex, status, JSON_TYPE, body);

  function fail(ex: Exchange, error: unknown): void {
    if (ex.done) return;
    let status: number;
    let code: RequestErrorCode;
    let message: string;
    if (RequestError.is(error)) {
      ({ status, code, message } = error);
    } else {
      status = 500;
      code = 'internal';
      message = `internal error: ${errorMessage(error)}`;
    }
    metrics.error(ex.route, code);
    if (status >= 500) {
      const fields = { method: ex.req.method, url: ex.req.url, status, error: message };
      if (status === 500) logger.error('request failed', fields);
      else logger.warn('request failed', fields);
    }
    ex.error = message;
    sendJson(ex, status, JSON.stringify({ error: message, code }));
  }

  function onTimeout(ex: Exchange): void {
    const error = new RequestError(`the request took longer than ${timeoutMs} ms`, 'timeout');
    ex.body?.abort(error);
    fail(ex, error);
  }

  async function readJson(ex: Exchange): Promise<unknown> {
    requestFormat(ex.req.headers['content-type'], false);
    return parseJsonBody((await readRaw(ex)).toString('utf8'));
  }

  async function readRaw(ex: Exchange): Promise<Buffer> {
    const read = readBody(ex.req, limit);
    ex.body = read;
    const buffer = await read.promise;
    ex.bodyPending = false;
    return buffer;
  }

  function checkModel(match: RouteMatch): void {
    if (match.model !== undefined && match.model !== model.name) throw notServed(match.model);
    if (match.version !== undefined && match.version !== model.version) {
      throw new RequestError(
        `model ${JSON.stringify(model.name)} has no version ${JSON.stringify(match.version)}; this server serves version ${JSON.stringify(model.version)}`,
        'not_found',
      );
    }
  }

  const unavailable = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({ ...extra, error: 'the server is shutting down', code: 'unavailable' });

  /** Health of a readiness route: 200 with `ready`, 503 once draining. */
  function readiness(ex: Exchange, ready: string, extra: Record<string, unknown> = {}): void {
    if (draining) {
      metrics.error(ex.route, 'unavailable');
      sendJson(ex, 503, unavailable({ ...extra, ready: false }));
    } else {
      sendJson(ex, 200, ready);
    }
  }

  const predictionsJson = model.predictInstancesJson?.bind(model);

  async function predictJson(ex: Exchange, pick: (body: unknown) => unknown[]): Promise<void> {
    return sendPredictions(ex, pick(await readJson(ex)));
  }

  async function sendPredictions(ex: Exchange, instances: unknown[]): Promise<void> {
    const text =
      predictionsJson !== undefined
        ? await predictionsJson(instances)
        : JSON.stringify(await model.predictInstances(instances));
    sendJson(ex, 200, `{"predictions":${text}}`);
  }

  async function dispatch(ex: Exchange, match: RouteMatch | undefined): Promise<void> {
    const req = ex.req;
    if (match === undefined) {
      throw new RequestError(`no route for ${req.method ?? ''} ${req.url ?? ''}`, 'not_found');
    }
    const wanted = Router.method(match.route);
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (method !== wanted) {
      ex.allow = wanted === 'GET' ? 'GET, HEAD' : 'POST';
      throw new RequestError(
        `method ${req.method ?? ''} is not allowed on ${req.url ?? ''}; use ${wanted ?? ''}`,
        'method_not_allowed',
      );
    }
    checkModel(match);
    switch (match.route) {
      case Route.ping:
      case Route.vertexHealth:
        return readiness(ex, '{"status":"ready"}');
      case Route.v2Ready:
        return readiness(ex, '{"ready":true}');
      case Route.v2ModelReady:
        return readiness(ex, JSON.stringify({ name: model.name, ready: true }), { name: model.name });
      case Route.v1Model:
        return readiness(ex, JSON.stringify({ name: model.name, ready: true }), { name: model.name });
      case Route.v2Live:
        return sendJson(ex, 200, '{"live":true}');
      case Route.azureLive:
        return sendJson(ex, 200, '{"status":"live"}');
      case Route.v2Server:
        return sendJson(ex, 200, v2ServerMetadata);
      case Route.v2Model:
        return sendJson(ex, 200, v2ModelMetadata);
      case Route.metrics:
        return send(ex, 200, 'text/plain; version=0.0.4; charset=utf-8', metrics.render(inflight, !draining));
      case Route.invocations:
        return invocations(ex);
      case Route.v1Predict:
      case Route.vertexPredict:
        return predictJson(ex, instancesField);
      case Route.azureScore:
        return predictJson(ex, azureInstances);
      case Route.v2Infer: {
        const body = await readJson(ex);
        const response = await model.inferV2(body as V2InferRequest);
        return sendJson(ex, 200, JSON.stringify(response));
      }
    }
  }

  /** SageMaker: JSON (`{"instances"}` or a bare array) or CSV in; JSON or CSV out per Accept. */
  async function invocations(ex: Exchange): Promise<void> {
    const headers = ex.req.headers;
    const input = requestFormat(headers['content-type'], true);
    const output = responseFormat(headers.accept, true);
    const raw = (await readRaw(ex)).toString('utf8');
    const instances = input === 'csv' ? parseCsvBody(raw) : sageMakerInstances(parseJsonBody(raw));
    if (output === 'json') return sendPredictions(ex, instances);
    send(ex, 200, 'text/csv', formatCsvPredictions(await model.predictInstances(instances)));
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    inflight++;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    let match: RouteMatch | undefined;
    let routeError: unknown;
    try {
      match = router.match(q === -1 ? url : url.slice(0, q));
    } catch (error) {
      routeError = error;
    }
    const ex = new Exchange(req, res, match?.route ?? Route.unmatched, started);
    ex.timer = setTimeout(onTimeout, timeoutMs, ex);
    if (routeError !== undefined) return fail(ex, routeError);
    dispatch(ex, match).then(undefined, (error: unknown) => fail(ex, error));
  }

  const server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, requestTimeout: 0 }, onRequest);
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1000;
  // `Expect: 100-continue` (curl sends it for bodies over 1 MB): refuse an oversized body before it is sent.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (!(Number(req.headers['content-length']) > limit)) res.writeContinue();
    onRequest(req, res);
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const body = JSON.stringify({ error: `bad HTTP request: ${error.message}`, code: 'invalid_input' });
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `cannot listen on ${host}:${port}: the port is in use`
            : `cannot listen on ${host}:${port}: ${error.message}`,
          { cause: error },
        ),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (error) => logger.error('server error', { error }));

  const address = server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  // A parent process waits for this line (the bin prints nothing else at start-up).
  logger.info('ready', {
    port: boundPort,
    url,
    model: model.name,
    maxPayload: formatBytes(limit),
    requestTimeoutMs: timeoutMs,
  });

  let closing: Promise<void> | undefined;
  async function close(graceMs = DEFAULT_GRACE_MS): Promise<void> {
    draining = true;
    closing ??= (async () => {
      logger.info('draining', { inflight });
      // Stops listening and closes idle keep-alive sockets; busy ones get `connection: close` on their response.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if (inflight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (onDrained = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
        ]);
        clearTimeout(timer);
        if (inflight > 0) logger.warn('grace period over, closing busy connections', { inflight });
      }
      server.closeAllConnections();
      await closed;
      logger.info('closed', { url });
    })();
    return closing;
  }

  return {
    url,
    host,
    port: boundPort,
    get metrics() {
      return metrics.snapshot(inflight, !draining);
    },
    close,
  };
}

function instancesField(body: unknown): unknown[] {
  const instances = (body as { instances?: unknown } | null)?.instances;
  if (!Array.isArray(instances)) throw new RequestError('expected a JSON object {"instances": [...]}');
  return instances;
}

function sageMakerInstances(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  const instances = (body as { instances?: unknown } | null)?.instances;
  if (!Array.isArray(instances)) {
    throw new RequestError('expected {"instances": [...]} or a JSON array of instances');
  }
  return instances;
}

/** Azure ML: `{"instances"}`, `{"data"}`, `{"input_data"}` as a list, or `input_data` in pandas split form. */
function azureInstances(body: unknown): unknown[] {
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const fields = body as Record<string, unknown>;
    for (const key of ['instances', 'data', 'input_data']) {
      const value = fields[key];
      if (Array.isArray(value)) return value;
    }
    const split = fields['input_data'] as { data?: unknown } | undefined;
    if (typeof split === 'object' && split !== null && Array.isArray(split.data)) return split.data;
  }
  throw new RequestError(
    'expected {"instances": [...]}, {"data": [...]} or {"input_data": [...]} (or input_data as {"columns","data"})',
  );
}
