import type { IncomingHttpHeaders } from 'node:http';
import type { BotocoreService, BotocoreShape } from './botocore-model.js';

/**
 * The members of a REST request (restJson1 or restXml) gathered into one input object, as the model lays
 * them out: URI labels, query string, headers (and `x-amz-meta-*` header maps), and the JSON body. Members
 * that cannot be checked here (an XML payload, a streamed blob) are returned in `unchecked`.
 */
export function bindRestInput(
  service: BotocoreService,
  operation: string,
  request: {
    labels: Record<string, string>;
    query: URLSearchParams;
    headers: IncomingHttpHeaders;
    body: Buffer | undefined;
  },
): { input: Record<string, unknown>; unchecked: string[] } {
  const op = service.operations[operation];
  const shape = op?.input === undefined ? undefined : service.shapes[op.input.shape];
  const input: Record<string, unknown> = {};
  const unchecked: string[] = [];
  if (shape?.members === undefined) return { input, unchecked };
  const bodyMembers: string[] = [];
  for (const [name, member] of Object.entries(shape.members)) {
    const target = service.shapes[member.shape];
    const wire = member.locationName ?? name;
    switch (member.location) {
      case 'uri': {
        const value = request.labels[wire];
        if (value !== undefined) input[name] = value;
        break;
      }
      case 'querystring': {
        if (target?.type === 'list') {
          const values = request.query.getAll(wire);
          if (values.length > 0) input[name] = values;
        } else if (target?.type === 'map') {
          // a map bound to the whole query string: not sent by the operations the emulator serves
        } else {
          const value = request.query.get(wire);
          if (value !== null) input[name] = coerce(value, target);
        }
        break;
      }
      case 'header': {
        const raw = request.headers[wire.toLowerCase()];
        const value = Array.isArray(raw) ? raw.join(',') : raw;
        if (value !== undefined) input[name] = coerce(value, target);
        break;
      }
      case 'headers': {
        const prefix = wire.toLowerCase();
        const map: Record<string, string> = {};
        for (const [header, value] of Object.entries(request.headers)) {
          if (header.startsWith(prefix) && typeof value === 'string')
            map[header.slice(prefix.length)] = value;
        }
        if (Object.keys(map).length > 0) input[name] = map;
        break;
      }
      default:
        bodyMembers.push(name);
    }
  }
  const payload = shape.payload;
  if (payload !== undefined) {
    const target = service.shapes[shape.members[payload]?.shape ?? ''];
    if (target?.type === 'blob' || target?.type === 'string') {
      // A raw body: present when bytes were sent (or are being streamed).
      if (request.body === undefined || request.body.length > 0)
        input[payload] = request.body ?? Buffer.alloc(0);
    } else if (service.protocol === 'rest-json' && request.body !== undefined && request.body.length > 0) {
      input[payload] = parseJson(request.body);
    } else unchecked.push(payload);
  } else if (service.protocol === 'rest-json' && request.body !== undefined && request.body.length > 0) {
    const parsed = parseJson(request.body);
    if (typeof parsed === 'object' && parsed !== null) {
      for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) input[key] = value;
    }
  } else if (service.protocol === 'rest-xml') {
    unchecked.push(...bodyMembers);
  }
  return { input, unchecked };
}

function coerce(value: string, shape: BotocoreShape | undefined): unknown {
  switch (shape?.type) {
    case 'integer':
    case 'long':
    case 'float':
    case 'double':
      return Number(value);
    case 'boolean':
      return value === 'true';
    default:
      return value;
  }
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
