import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** The parts of a botocore shape the validator and the REST binder read. */
export interface BotocoreShape {
  type: string;
  required?: string[];
  members?: Record<string, BotocoreMember>;
  member?: { shape: string };
  key?: { shape: string };
  value?: { shape: string };
  enum?: string[];
  pattern?: string;
  min?: number;
  max?: number;
  payload?: string;
  union?: boolean;
}

export interface BotocoreMember {
  shape: string;
  location?: 'uri' | 'querystring' | 'header' | 'headers' | 'statusCode';
  locationName?: string;
  idempotencyToken?: boolean;
}

export interface BotocoreOperation {
  name: string;
  http: { method: string; requestUri: string; responseCode?: number };
  input?: { shape: string };
}

export interface BotocoreService {
  /** File stem, e.g. `sagemaker`, `sagemaker-runtime`. */
  id: string;
  protocol: string;
  targetPrefix?: string;
  operations: Record<string, BotocoreOperation>;
  shapes: Record<string, BotocoreShape>;
}

/**
 * The official service models (botocore's `service-2.json`, gzipped) from `../shared/specs/aws/`. They are
 * data, read at run time and never copied into the project; where the folder is absent, validation skips.
 */
export const DEFAULT_SPECS_DIR = join(process.cwd(), '../shared/specs/aws');

export function specsDirFrom(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [
    env['MODELPORT_AWS_SPECS_DIR'],
    DEFAULT_SPECS_DIR,
    '/work/shared/specs/aws',
    join(process.cwd(), '../../shared/specs/aws'),
    join(process.cwd(), '../../../shared/specs/aws'),
  ];
  return candidates.find(
    (dir): dir is string => dir !== undefined && existsSync(join(dir, 'sagemaker.service-2.json.gz')),
  );
}

export function loadBotocoreService(dir: string, id: string): BotocoreService {
  const raw = JSON.parse(gunzipSync(readFileSync(join(dir, `${id}.service-2.json.gz`))).toString('utf8')) as {
    metadata: { protocol: string; targetPrefix?: string };
    operations: Record<string, BotocoreOperation>;
    shapes: Record<string, BotocoreShape>;
  };
  return {
    id,
    protocol: raw.metadata.protocol,
    ...(raw.metadata.targetPrefix === undefined ? {} : { targetPrefix: raw.metadata.targetPrefix }),
    operations: raw.operations,
    shapes: raw.shapes,
  };
}

/** How a REST operation is addressed: method, URI template (`/{Bucket}/{Key+}`), query keys it needs. */
export interface RouteSpec {
  operation: string;
  method: string;
  /** Path template; a `?a&b=c` part names query keys that must be present (with that value, if given). */
  uri: string;
}

interface RouteTemplate {
  operation: string;
  method: string;
  segments: { literal?: string; label?: string; greedy?: boolean }[];
  query: Record<string, string | undefined>;
}

export interface RouteMatch {
  operation: string;
  labels: Record<string, string>;
}

/**
 * Finds which operation of a REST service (restJson1, restXml) a request is: method and path must fit the
 * template and its query keys must be present; the most specific template wins (S3's UploadPart and
 * PutObject differ only by `?partNumber&uploadId`).
 */
export class RestRouter {
  private readonly templates: RouteTemplate[];

  constructor(routes: readonly RouteSpec[]) {
    this.templates = routes.map(template);
  }

  match(method: string, path: string, query: URLSearchParams): RouteMatch | undefined {
    const parts = path === '/' ? [] : path.split('/').slice(1).map(safeDecode);
    if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
    if (parts.length === 1 && parts[0] === '') parts.pop();
    let best: { match: RouteMatch; score: number } | undefined;
    for (const t of this.templates) {
      if (t.method !== method) continue;
      const labels = matchSegments(t.segments, parts);
      if (labels === undefined) continue;
      const queryOk = Object.entries(t.query).every(
        ([key, value]) => query.has(key) && (value === undefined || query.get(key) === value),
      );
      if (!queryOk) continue;
      const literals = t.segments.filter((s) => s.literal !== undefined).length;
      const score = Object.keys(t.query).length * 100 + literals * 10 + t.segments.length;
      if (best === undefined || score > best.score)
        best = { match: { operation: t.operation, labels }, score };
    }
    return best?.match;
  }
}

function template(route: RouteSpec): RouteTemplate {
  const [pathPart = '/', queryPart = ''] = route.uri.split('?');
  const segments = (pathPart === '/' ? [] : pathPart.split('/').slice(1)).map((segment) => {
    const label = /^\{([^}+]+)(\+?)\}$/.exec(segment);
    return label === null ? { literal: segment } : { label: label[1] as string, greedy: label[2] === '+' };
  });
  const query: Record<string, string | undefined> = {};
  for (const pair of queryPart.split('&').filter((p) => p !== '')) {
    const [key = '', value] = pair.split('=');
    query[key] = value;
  }
  return { operation: route.operation, method: route.method, segments, query };
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function matchSegments(
  segments: RouteTemplate['segments'],
  parts: string[],
): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as RouteTemplate['segments'][number];
    if (segment.greedy === true) {
      const rest = parts.slice(i).join('/');
      if (rest === '') return undefined;
      labels[segment.label as string] = rest;
      return labels;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (segment.literal !== undefined) {
      if (segment.literal !== part) return undefined;
    } else {
      if (part === '') return undefined;
      labels[segment.label as string] = part;
    }
  }
  return parts.length === segments.length ? labels : undefined;
}
