import { RequestError } from '../errors.js';

/** Route ids double as indexes into the metrics arrays. */
export const Route = {
  ping: 0,
  invocations: 1,
  v1Model: 2,
  v1Predict: 3,
  v2Live: 4,
  v2Ready: 5,
  v2Server: 6,
  v2Model: 7,
  v2ModelReady: 8,
  v2Infer: 9,
  vertexHealth: 10,
  vertexPredict: 11,
  azureLive: 12,
  azureScore: 13,
  metrics: 14,
  executionParameters: 15,
  unmatched: 16,
} as const;
export type RouteId = (typeof Route)[keyof typeof Route];

const METHOD: readonly ('GET' | 'POST' | undefined)[] = [
  'GET',
  'POST',
  'GET',
  'POST',
  'GET',
  'GET',
  'GET',
  'GET',
  'GET',
  'POST',
  'GET',
  'POST',
  'GET',
  'POST',
  'GET',
  'GET',
  undefined,
];

export interface RouteMatch {
  route: RouteId;
  /** The `{name}` of a model route, percent-decoded. */
  model?: string;
  /** The `{version}` of a `/v2/models/{name}/versions/{version}/...` route. */
  version?: string;
}

export interface VertexRoutes {
  healthRoute: string;
  predictRoute: string;
}

/** Matches request paths of every protocol the server speaks; no regular expressions on the hot path. */
export class Router {
  /** Metric label of each route, indexed by route id. */
  readonly labels: readonly string[];
  private readonly exact = new Map<string, RouteMatch>();

  constructor(vertex: VertexRoutes) {
    this.labels = [
      '/ping',
      '/invocations',
      '/v1/models/{name}',
      '/v1/models/{name}:predict',
      '/v2/health/live',
      '/v2/health/ready',
      '/v2',
      '/v2/models/{name}',
      '/v2/models/{name}/ready',
      '/v2/models/{name}/infer',
      vertex.healthRoute,
      vertex.predictRoute,
      '/',
      '/score',
      '/metrics',
      '/execution-parameters',
      'unmatched',
    ];
    // Vertex routes come first: AIP_* may point anywhere, even at a path another protocol uses.
    const statics: [string, RouteId][] = [
      [vertex.healthRoute, Route.vertexHealth],
      [vertex.predictRoute, Route.vertexPredict],
      ['/ping', Route.ping],
      ['/invocations', Route.invocations],
      ['/v2/health/live', Route.v2Live],
      ['/v2/health/ready', Route.v2Ready],
      ['/v2', Route.v2Server],
      ['/', Route.azureLive],
      ['/score', Route.azureScore],
      ['/metrics', Route.metrics],
      ['/execution-parameters', Route.executionParameters],
    ];
    for (const [path, route] of statics) if (!this.exact.has(path)) this.exact.set(path, { route });
  }

  static method(route: RouteId): 'GET' | 'POST' | undefined {
    return METHOD[route];
  }

  match(path: string): RouteMatch | undefined {
    const exact = this.exact.get(path);
    if (exact !== undefined) return exact;
    if (path.startsWith('/v1/models/')) {
      const rest = path.slice('/v1/models/'.length);
      if (rest.endsWith(':predict')) return named(Route.v1Predict, rest.slice(0, -':predict'.length));
      // A client may percent-encode the colon.
      if (rest.endsWith('%3Apredict') || rest.endsWith('%3apredict')) {
        return named(Route.v1Predict, rest.slice(0, -'%3Apredict'.length));
      }
      return rest.includes('/') ? undefined : named(Route.v1Model, rest);
    }
    if (path.startsWith('/v2/models/')) {
      const parts = path.slice('/v2/models/'.length).split('/');
      const [name = '', a, b, c, ...extra] = parts;
      if (extra.length > 0) return undefined;
      if (a === 'versions' && b !== undefined && b !== '') {
        const match = v2ModelRoute(name, c);
        if (match !== undefined) match.version = decode(b);
        return match;
      }
      return b === undefined ? v2ModelRoute(name, a) : undefined;
    }
    return undefined;
  }
}

function v2ModelRoute(name: string, action: string | undefined): RouteMatch | undefined {
  if (action === undefined) return named(Route.v2Model, name);
  if (action === 'ready') return named(Route.v2ModelReady, name);
  if (action === 'infer') return named(Route.v2Infer, name);
  return undefined;
}

function named(route: RouteId, rawName: string): RouteMatch | undefined {
  if (rawName === '') return undefined;
  return { route, model: decode(rawName) };
}

function decode(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new RequestError(`bad percent-encoding in path segment ${JSON.stringify(segment)}`);
  }
}
