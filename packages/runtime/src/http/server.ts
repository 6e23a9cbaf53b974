import { constants } from 'node:buffer';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

import { errorMessage, RequestError, type RequestErrorCode } from '../errors.js';
import { parseJsonBody } from '../json-body.js';
import { createJsonLogger, type Logger } from '../logger.js';
import type { ServedModel } from '../onnx-model.js';
import { v2TensorMetadata, type V2InferRequest } from '../v2-protocol.js';
import { RUNTIME_NAME, RUNTIME_VERSION } from '../version.js';
import { AZURE_BODY, INSTANCES_BODY, SAGEMAKER_BODY, type JsonBodyShape } from './body-shapes.js';
import { requestFormat, responseFormat, type BodyFormat, type ResponseType } from './content-negotiation.js';
import { executionParameters } from './execution-parameters.js';
import { ServerMetrics, type MetricsSnapshot } from './metrics.js';
import {
  bodyClosing,
  bodyOpening,
  predictionBody,
  predictionPiece,
  renumberInstanceError,
} from './prediction-output.js';
import { BodyStream, formatBytes, readBody, type BodyAbort } from './read-body.js';
import { scanInstances } from './instances-scanner.js';
import { jsonRecordParser, lineRecordParser, parseLineBody, type RecordParser } from './record-parsers.js';
import { Route, Router, type RouteId, type RouteMatch } from './router.js';

export const DEFAULT_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
export const DEFAULT_GRACE_MS = 30_000;
/** Bodies (and responses) larger than this are parsed (and sent) piece by piece. */
export const DEFAULT_STREAM_THRESHOLD_BYTES = 16 * 1024 * 1024;
/** Seconds a client is told to wait (Retry-After) while the model loads. */
const LOADING_RETRY_AFTER_S = 5;
/** A streamed body is predicted in pieces of at most this many instances, or this many input bytes. */
const STREAM_PIECE_ROWS = 1024;
const STREAM_PIECE_BYTES = 4 * 1024 * 1024;
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
  /**
   * The model, or a promise of it (still loading): the server then listens at once, so platform liveness
   * probes pass, and readiness and predict routes answer 503 until it resolves (see `RunningServer.modelReady`).
   */
  model: ServedModel | Promise<ServedModel>;
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
  /**
   * Bodies over this size are parsed as they arrive, and responses over it are sent as they are made,
   * so neither is ever one string (V8 caps strings at ~512 MiB); default 16 MiB. Smaller ones take the
   * buffered fast path.
   */
  streamThresholdBytes?: number;
  /** What `GET /execution-parameters` advertises (SageMaker Batch Transform); default: the CPU count. */
  maxConcurrentTransforms?: number;
}

/** `loading` until the model promise settles. */
export type ModelState = 'loading' | 'ready' | 'failed';

export interface RunningServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Counters since start (the same numbers `GET /metrics` renders). */
  readonly metrics: MetricsSnapshot;
  readonly modelState: ModelState;
  /**
   * Settles with the model: resolves once it is served (the `ready` line is logged then), rejects with
   * the load error (readiness routes then answer 503 with it; the caller should log, close and exit).
   */
  readonly modelReady: Promise<void>;
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
  body: BodyAbort | undefined;
  /** True while the request still has body bytes the server has not read. */
  bodyPending: boolean;
  allow: string | undefined;
  retryAfter: number | undefined;
  /** Why the request failed, for the access log. */
  error: string | undefined;
  /** Aborted when the server gives up on the request (timeout): model work not started for it is skipped. */
  abort: AbortController | undefined;

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

function isPromiseLike<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown }).then === 'function';
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const logger = opts.logger ?? createJsonLogger();
  const limit = opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const timeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const streamThreshold = opts.streamThresholdBytes ?? DEFAULT_STREAM_THRESHOLD_BYTES;
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? opts.vertex?.port ?? 8080;
  const router = new Router({
    healthRoute: opts.vertex?.healthRoute ?? '/health',
    predictRoute: opts.vertex?.predictRoute ?? '/predict',
  });
  const metrics = new ServerMetrics(router.labels);
  const accessLog = logger.enabled('debug');
  // Answers that never change are rendered once.
  const v2ServerMetadata = JSON.stringify({ name: RUNTIME_NAME, version: RUNTIME_VERSION, extensions: [] });
  const executionParametersJson = JSON.stringify(executionParameters(limit, opts.maxConcurrentTransforms));

  // The model, once loaded, and what is rendered from it.
  let model: ServedModel | undefined;
  let v2ModelMetadata = '';
  let modelState: ModelState = 'loading';
  let loadError: string | undefined;
  function adopt(loaded: ServedModel): void {
    model = loaded;
    v2ModelMetadata = JSON.stringify({
      name: loaded.name,
      versions: [loaded.version],
      platform: 'onnxruntime_onnx',
      inputs: loaded.signature.inputs.map(v2TensorMetadata),
      outputs: loaded.signature.outputs.map(v2TensorMetadata),
    });
    modelState = 'ready';
  }
  // A model given as a value is served from the first request on, as before; a promise is awaited in the
  // background, and its failure is kept for the readiness routes (and reported through `modelReady`).
  let loading: Promise<void>;
  if (isPromiseLike(opts.model)) {
    loading = opts.model.then(adopt, (error: unknown) => {
      modelState = 'failed';
      loadError = errorMessage(error);
      throw error;
    });
    loading.catch(() => undefined);
  } else {
    adopt(opts.model);
    loading = Promise.resolve();
  }

  let inflight = 0;
  let draining = false;
  let onDrained: (() => void) | undefined;

  /** `streaming`: a response sent while its request body is still being read (never discard that body). */
  function writeHead(
    ex: Exchange,
    status: number,
    contentType: string,
    length: number | undefined,
    streaming = false,
  ): void {
    const headers: string[] = ['content-type', contentType];
    if (length !== undefined) headers.push('content-length', String(length));
    // A draining server wants the socket back. Unread body bytes are read and thrown away (up to a
    // bound) rather than cut off: closing while the client still sends makes it see EPIPE/ECONNRESET
    // instead of the 413 that explains why.
    // A client stalled mid-body (504) or waiting for `100 Continue` will send nothing more.
    const stalled = status === 504 || /100-continue/i.test(ex.req.headers.expect ?? '');
    if (draining || (!streaming && ex.bodyPending && (stalled || !discardBody(ex.req))))
      headers.push('connection', 'close');
    if (ex.allow !== undefined) headers.push('allow', ex.allow);
    if (ex.retryAfter !== undefined) headers.push('retry-after', String(ex.retryAfter));
    ex.res.writeHead(status, headers);
  }

  /** Bookkeeping once an exchange is over: metrics, access log, drain. */
  function finished(ex: Exchange, status: number): void {
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

  function send(ex: Exchange, status: number, contentType: string, body: string | readonly string[]): void {
    if (ex.done) return;
    ex.done = true;
    clearTimeout(ex.timer);
    const res = ex.res;
    if (!res.headersSent && !res.destroyed) {
      if (typeof body === 'string') {
        writeHead(ex, status, contentType, Buffer.byteLength(body));
        res.end(body);
      } else {
        let length = 0;
        for (const piece of body) length += Buffer.byteLength(piece);
        writeHead(ex, status, contentType, length);
        for (const piece of body) res.write(piece);
        res.end();
      }
    } else if (res.headersSent && !res.writableEnded) {
      // A streamed response that failed part-way: cut it off, so no client takes it for a whole one.
      res.destroy();
    }
    finished(ex, status);
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
    // Stop reading a body still streaming in (what is left is discarded or the connection closed).
    ex.body?.abort(error instanceof Error ? error : new Error(message));
    metrics.error(ex.route, code);
    // 503s (loading, closed) are states, reported by readiness routes and metrics, not news in the log.
    if (status >= 500 && code !== 'unavailable') {
      const fields = { method: ex.req.method, url: ex.req.url, status, error: message };
      if (status === 500) logger.error('request failed', fields);
      else logger.warn('request failed', fields);
    }
    ex.error = message;
    sendJson(ex, status, JSON.stringify({ error: message, code }));
  }

  function onTimeout(ex: Exchange): void {
    fail(ex, new RequestError(`the request took longer than ${timeoutMs} ms`, 'timeout'));
    ex.abort?.abort();
  }

  /** A whole JSON body (the v2 tensor route): one string, so V8's longest string (~512 MiB) bounds it. */
  async function readJson(ex: Exchange): Promise<unknown> {
    requestFormat(ex.req.headers['content-type'], false);
    const body = await readRaw(ex);
    let text: string;
    try {
      text = body.toString('utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ERR_STRING_TOO_LONG') throw error;
      throw new RequestError(
        `a ${formatBytes(body.length)} body is more than this route can parse (${formatBytes(constants.MAX_STRING_LENGTH)}); /invocations streams instances of any size`,
        'payload_too_large',
      );
    }
    return parseJsonBody(text);
  }

  async function readRaw(ex: Exchange): Promise<Buffer> {
    const read = readBody(ex.req, limit);
    ex.body = read;
    const buffer = await read.promise;
    ex.bodyPending = false;
    return buffer;
  }

  /**
   * The body whole when it is at most `streamThreshold` bytes (the fast path: one Buffer); otherwise the
   * bytes read so far and the stream of the rest.
   */
  async function readSmallBody(ex: Exchange): Promise<Buffer | { head: Buffer[]; rest: BodyStream }> {
    const declared = Number(ex.req.headers['content-length'] ?? Number.NaN);
    if (declared <= streamThreshold) return readRaw(ex);
    const rest = new BodyStream(ex.req, limit);
    ex.body = rest;
    const head: Buffer[] = [];
    let size = 0;
    for (;;) {
      const chunk = await rest.next();
      if (chunk === undefined) {
        ex.bodyPending = false;
        return head.length === 1 ? (head[0] as Buffer) : Buffer.concat(head, size);
      }
      head.push(chunk);
      size += chunk.length;
      if (size > streamThreshold) return { head, rest };
    }
  }

  /** The model, or a 503 while it loads (or after it failed to). */
  function servedModel(ex: Exchange): ServedModel {
    if (model !== undefined) return model;
    if (modelState === 'failed') {
      throw new RequestError(`the model failed to load: ${loadError ?? 'unknown error'}`, 'unavailable');
    }
    ex.retryAfter = LOADING_RETRY_AFTER_S;
    throw new RequestError('the model is still loading; retry shortly', 'unavailable');
  }

  function checkModel(match: RouteMatch, served: ServedModel): void {
    if (match.model !== undefined && match.model !== served.name) {
      throw new RequestError(
        `model ${JSON.stringify(match.model)} is not served here; this server serves ${JSON.stringify(served.name)}`,
        'not_found',
      );
    }
    if (match.version !== undefined && match.version !== served.version) {
      throw new RequestError(
        `model ${JSON.stringify(served.name)} has no version ${JSON.stringify(match.version)}; this server serves version ${JSON.stringify(served.version)}`,
        'not_found',
      );
    }
  }

  const unavailable = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({ ...extra, error: 'the server is shutting down', code: 'unavailable' });

  /** Health of a readiness route: 200 with `ready` once the model is served, 503 before and once draining. */
  function readiness(ex: Exchange, ready: (served: ServedModel) => string, named = false): void {
    if (draining) {
      metrics.error(ex.route, 'unavailable');
      sendJson(ex, 503, unavailable({ ...(named && model ? { name: model.name } : {}), ready: false }));
    } else if (model === undefined) {
      metrics.error(ex.route, 'unavailable');
      if (modelState === 'failed') {
        const error = `the model failed to load: ${loadError ?? 'unknown error'}`;
        sendJson(ex, 503, JSON.stringify({ status: 'failed', ready: false, error, code: 'unavailable' }));
      } else {
        ex.retryAfter = LOADING_RETRY_AFTER_S;
        const error = 'the model is loading';
        sendJson(ex, 503, JSON.stringify({ status: 'starting', ready: false, error, code: 'unavailable' }));
      }
    } else {
      sendJson(ex, 200, ready(model));
    }
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
    // Before the model is loaded, model routes answer 503 whatever the name (it is not known yet).
    if (model !== undefined) checkModel(match, model);
    switch (match.route) {
      case Route.ping:
      case Route.vertexHealth:
        return readiness(ex, () => '{"status":"ready"}');
      case Route.v2Ready:
        return readiness(ex, () => '{"ready":true}');
      case Route.v2ModelReady:
      case Route.v1Model:
        return readiness(ex, (served) => JSON.stringify({ name: served.name, ready: true }), true);
      // Liveness: the process is up, loaded or not (a failing liveness probe restarts the container).
      case Route.v2Live:
        return sendJson(ex, 200, '{"live":true}');
      case Route.azureLive:
        return sendJson(ex, 200, '{"status":"live"}');
      case Route.v2Server:
        return sendJson(ex, 200, v2ServerMetadata);
      case Route.v2Model:
        servedModel(ex);
        return sendJson(ex, 200, v2ModelMetadata);
      case Route.metrics:
        return send(
          ex,
          200,
          'text/plain; version=0.0.4; charset=utf-8',
          metrics.render(inflight, !draining && model !== undefined),
        );
      case Route.executionParameters:
        return sendJson(ex, 200, executionParametersJson);
      case Route.invocations:
        return invocations(ex);
      case Route.v1Predict:
      case Route.vertexPredict:
        return predictJson(ex, INSTANCES_BODY);
      case Route.azureScore:
        return predictJson(ex, AZURE_BODY);
      case Route.v2Infer: {
        const served = servedModel(ex);
        const body = await readJson(ex);
        const response = await served.inferV2(body as V2InferRequest);
        return sendJson(ex, 200, JSON.stringify(response));
      }
    }
  }

  const JSON_RESPONSE: ResponseType = { format: 'json', contentType: JSON_TYPE };

  /** KServe v1, Vertex AI and Azure ML: JSON in, `{"predictions"}` out. */
  async function predictJson(ex: Exchange, shape: JsonBodyShape): Promise<void> {
    requestFormat(ex.req.headers['content-type'], false);
    return predictBody(ex, servedModel(ex), 'json', JSON_RESPONSE, shape);
  }

  /**
   * SageMaker: JSON (`{"instances"}` or a bare array), CSV or JSON Lines in (Batch Transform sends the job's
   * ContentType and Accept, https://docs.aws.amazon.com/sagemaker/latest/dg/API_TransformInput.html); JSON,
   * CSV or JSON Lines out per Accept, in any combination.
   */
  async function invocations(ex: Exchange): Promise<void> {
    const headers = ex.req.headers;
    const input = requestFormat(headers['content-type'], true);
    const output = responseFormat(headers.accept, true);
    return predictBody(ex, servedModel(ex), input, output, SAGEMAKER_BODY);
  }

  async function predictBody(
    ex: Exchange,
    served: ServedModel,
    input: BodyFormat,
    output: ResponseType,
    shape: JsonBodyShape,
  ): Promise<void> {
    const body = await readSmallBody(ex);
    if (!Buffer.isBuffer(body)) return predictStreamed(ex, served, input, output, shape, body);
    ex.abort = new AbortController();
    const signal = ex.abort.signal;
    if (input === 'json' && output.format === 'json') {
      // The fast path: rows of numbers scanned straight into a typed array (anything else is parsed below).
      const layout = served.rowLayout;
      if (layout !== undefined && served.predictRowsJson !== undefined && shape.paths.some(isInstancesPath)) {
        const rows = scanInstances(
          body,
          layout,
          shape.paths.some((p) => p.length === 0),
        );
        if (rows !== undefined) {
          const text = await served.predictRowsJson(rows.data, rows.count, signal);
          return send(ex, 200, output.contentType, `{"predictions":${text}}`);
        }
      }
    }
    const instances =
      input === 'json' ? shape.pick(parseJsonBody(body.toString('utf8'))) : parseLineBody(input, body);
    send(ex, 200, output.contentType, await predictionBody(served, output.format, instances, signal));
  }

  /**
   * A large body: instances are parsed as the bytes arrive and predicted in pieces while the rest is still
   * coming (the request is paused meanwhile). The response is held until it outgrows `streamThreshold`,
   * so most bad requests still get their 4xx; past that it is sent as it is made (chunked), and a later
   * failure cuts the connection.
   */
  async function predictStreamed(
    ex: Exchange,
    served: ServedModel,
    input: BodyFormat,
    output: ResponseType,
    shape: JsonBodyShape,
    body: { head: Buffer[]; rest: BodyStream },
  ): Promise<void> {
    let piece: unknown[] = [];
    let pieceBytes = 0;
    const onRecord = (instance: unknown, bytes: number) => {
      piece.push(instance);
      pieceBytes += bytes;
    };
    const parser: RecordParser =
      input === 'json' ? jsonRecordParser(shape, onRecord) : lineRecordParser(input, onRecord);
    const out = new PieceWriter(ex, output.contentType, bodyOpening(output.format));
    let predicted = 0;
    const flush = async () => {
      const instances = piece;
      piece = [];
      pieceBytes = 0;
      let text: string;
      try {
        text = await predictionPiece(served, output.format, instances, predicted === 0);
      } catch (error) {
        throw renumberInstanceError(error, predicted);
      }
      predicted += instances.length;
      await out.write(text);
    };
    const take = async (chunk: Buffer) => {
      parser.push(chunk);
      if (piece.length >= STREAM_PIECE_ROWS || pieceBytes >= STREAM_PIECE_BYTES) await flush();
    };
    for (const chunk of body.head) await take(chunk);
    body.head.length = 0;
    for (let chunk = await body.rest.next(); chunk !== undefined; chunk = await body.rest.next()) {
      if (ex.done) return;
      await take(chunk);
    }
    ex.bodyPending = false;
    parser.end();
    if (piece.length > 0) await flush();
    if (predicted === 0) throw new RequestError('expected a non-empty array of instances');
    out.end(bodyClosing(output.format));
  }

  /** A response body written in pieces: held while small, then streamed with backpressure. */
  class PieceWriter {
    private held: string[];
    private heldBytes = 0;

    constructor(
      private readonly ex: Exchange,
      private readonly contentType: string,
      opening: string,
    ) {
      this.held = opening === '' ? [] : [opening];
    }

    async write(text: string): Promise<void> {
      const { ex } = this;
      if (ex.done) throw new RequestError('the response was already sent');
      if (this.held.length > 0 || !ex.res.headersSent) {
        this.held.push(text);
        this.heldBytes += text.length;
        if (this.heldBytes <= streamThreshold) return;
        // Committed from here on: 200, chunked.
        writeHead(ex, 200, this.contentType, undefined, true);
        const held = this.held;
        this.held = [];
        for (const piece of held) await this.send(piece);
        return;
      }
      await this.send(text);
    }

    /**
     * While the request body is still coming, nothing waits for the client to read: a client that sends
     * its whole body before reading would otherwise deadlock with the paused request.
     */
    private async send(text: string): Promise<void> {
      const res = this.ex.res;
      if (res.destroyed) throw new RequestError('the client closed the connection');
      if (this.ex.bodyPending) res.write(text);
      else await writeWithBackpressure(res, text);
    }

    end(closing: string): void {
      const { ex } = this;
      if (ex.done) return;
      if (!ex.res.headersSent) {
        if (closing !== '') this.held.push(closing);
        send(ex, 200, this.contentType, this.held);
        return;
      }
      ex.done = true;
      clearTimeout(ex.timer);
      ex.res.end(closing);
      finished(ex, 200);
    }
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
  logger.info('listening', { port: boundPort, url });
  // A parent process waits for this line: it means the model is served (the bin prints nothing else).
  const logReady = () => {
    logger.info('ready', {
      port: boundPort,
      url,
      model: model?.name,
      maxPayload: formatBytes(limit),
      requestTimeoutMs: timeoutMs,
    });
  };
  let modelReady: Promise<void>;
  if (model !== undefined) {
    logReady();
    modelReady = Promise.resolve();
  } else {
    modelReady = loading.then(logReady, (error: unknown) => {
      logger.error('model load failed', { error: errorMessage(error) });
      throw error;
    });
    // Handled here (readiness routes report it); callers that await `modelReady` still see the rejection.
    modelReady.catch(() => undefined);
  }

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
      return metrics.snapshot(inflight, !draining && model !== undefined);
    },
    get modelState() {
      return modelState;
    },
    modelReady,
    close,
  };
}

const isInstancesPath = (path: readonly string[]) => path.length === 1 && path[0] === 'instances';

/** Writes a piece of a streamed response, waiting while the socket's buffer is full. */
async function writeWithBackpressure(res: ServerResponse, text: string): Promise<void> {
  if (res.destroyed) throw new RequestError('the client closed the connection');
  if (res.write(text)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
  if (res.destroyed) throw new RequestError('the client closed the connection');
}
