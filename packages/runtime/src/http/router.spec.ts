import { describe, expect, it } from 'vitest';

import { Route, Router } from './router.js';

const router = new Router({ healthRoute: '/health', predictRoute: '/predict' });

describe('Router', () => {
  it('matches every protocol route', () => {
    const cases: [string, unknown][] = [
      ['/ping', { route: Route.ping }],
      ['/invocations', { route: Route.invocations }],
      ['/v1/models/iris', { route: Route.v1Model, model: 'iris' }],
      ['/v1/models/iris:predict', { route: Route.v1Predict, model: 'iris' }],
      ['/v1/models/iris%3Apredict', { route: Route.v1Predict, model: 'iris' }],
      ['/v2/health/live', { route: Route.v2Live }],
      ['/v2/health/ready', { route: Route.v2Ready }],
      ['/v2', { route: Route.v2Server }],
      ['/v2/models/iris', { route: Route.v2Model, model: 'iris' }],
      ['/v2/models/iris/ready', { route: Route.v2ModelReady, model: 'iris' }],
      ['/v2/models/iris/infer', { route: Route.v2Infer, model: 'iris' }],
      ['/v2/models/iris/versions/3/infer', { route: Route.v2Infer, model: 'iris', version: '3' }],
      ['/v2/models/iris/versions/3', { route: Route.v2Model, model: 'iris', version: '3' }],
      ['/v2/models/my%20model/ready', { route: Route.v2ModelReady, model: 'my model' }],
      ['/health', { route: Route.vertexHealth }],
      ['/predict', { route: Route.vertexPredict }],
      ['/', { route: Route.azureLive }],
      ['/score', { route: Route.azureScore }],
      ['/metrics', { route: Route.metrics }],
      ['/execution-parameters', { route: Route.executionParameters }],
    ];
    for (const [path, match] of cases) expect(router.match(path), path).toEqual(match);
  });

  it('matches nothing else', () => {
    for (const path of [
      '/v1/models/',
      '/v1/models/a/b',
      '/v2/models/iris/explain',
      '/v2/models/iris/infer/x',
      '/pingx',
      '/v2/',
    ]) {
      expect(router.match(path), path).toBeUndefined();
    }
  });

  it('puts the Vertex routes first and labels metrics with them', () => {
    const vertex = new Router({ healthRoute: '/ping', predictRoute: '/v1/endpoints/1:predict' });
    expect(vertex.match('/ping')).toEqual({ route: Route.vertexHealth });
    expect(vertex.match('/v1/endpoints/1:predict')).toEqual({ route: Route.vertexPredict });
    expect(vertex.labels[Route.vertexPredict]).toBe('/v1/endpoints/1:predict');
  });

  it('rejects bad percent-encoding', () => {
    expect(() => router.match('/v2/models/%E0%A4%A/ready')).toThrow(/bad percent-encoding/);
  });
});
