import type { IncomingMessage, ServerResponse } from 'node:http';

/** An ARM error answer: `{"error": {"code", "message"}}` with its status. */
export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface ArmReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Raw body with its content type (data-plane answers). */
  raw?: { body: Buffer; contentType: string };
}

export function json(status: number, body?: unknown, headers: Record<string, string> = {}): ArmReply {
  return { status, ...(body === undefined ? {} : { body }), headers };
}

export function notFound(what: string): ArmError {
  return new ArmError(404, 'ResourceNotFound', `${what} was not found.`);
}

export function badRequest(message: string, code = 'BadRequest'): ArmError {
  return new ArmError(400, code, message);
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function send(res: ServerResponse, reply: ArmReply): void {
  const headers: Record<string, string> = {
    'x-ms-request-id': crypto.randomUUID(),
    ...(reply.headers ?? {}),
  };
  if (reply.raw !== undefined) {
    res.writeHead(reply.status, { ...headers, 'content-type': reply.raw.contentType });
    res.end(reply.raw.body);
    return;
  }
  if (reply.body === undefined) {
    res.writeHead(reply.status, headers);
    res.end();
    return;
  }
  res.writeHead(reply.status, { ...headers, 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(reply.body));
}

export function errorReply(error: ArmError): ArmReply {
  return json(error.status, { error: { code: error.code, message: error.message } }, error.headers);
}

/** ISO 8601 durations of ARM (`PT5S`, `PT1M30S`, `PT0.5S`) in milliseconds. */
export function isoDurationMs(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const match = /^PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(value);
  if (match === null) return fallback;
  const [, h = '0', m = '0', s = '0'] = match;
  return Math.round((Number(h) * 3600 + Number(m) * 60 + Number(s)) * 1000);
}
