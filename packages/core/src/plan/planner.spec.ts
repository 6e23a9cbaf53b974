import { describe, expect, it } from 'vitest';
import { ModelportError } from '../errors.js';
import { specHash } from '../hash.js';
import type { DesiredResource, ObservedResource } from '../ports/resources.js';
import { computePlan } from './planner.js';

const base = { kind: 'Endpoint' as const, name: 'iris', provider: 'fake', specHash: 'abc' };
const model: DesiredResource = {
  type: 'm',
  name: 'iris-model',
  properties: { uri: 'a.onnx' },
  immutable: ['uri'],
};
const endpoint: DesiredResource = {
  type: 'e',
  name: 'iris',
  properties: { replicas: 2, model: 'iris-model' },
  dependsOn: ['m/iris-model'],
};

function observedFrom(d: DesiredResource, overrides: Partial<ObservedResource> = {}): ObservedResource {
  return {
    type: d.type,
    name: d.name,
    properties: d.properties,
    specHash: specHash(d.properties),
    managed: true,
    state: 'ready',
    ...(d.dependsOn === undefined ? {} : { dependsOn: d.dependsOn }),
    ...overrides,
  };
}

describe('computePlan', () => {
  it('creates everything when nothing exists, in dependency order', () => {
    const plan = computePlan({ ...base, desired: [model, endpoint], observed: [] });
    expect(plan.actions.map((a) => [a.kind, a.id])).toEqual([
      ['create', 'm/iris-model'],
      ['create', 'e/iris'],
    ]);
    expect(plan.actions[1]?.dependsOn).toEqual(['m/iris-model']);
  });

  it('is all no-op when observed matches desired', () => {
    const plan = computePlan({
      ...base,
      desired: [model, endpoint],
      observed: [observedFrom(model), observedFrom(endpoint)],
    });
    expect(plan.actions.map((a) => a.kind)).toEqual(['noop', 'noop']);
  });

  it('updates a changed mutable field and replaces a changed immutable one', () => {
    const changedEndpoint = { ...endpoint, properties: { ...endpoint.properties, replicas: 3 } };
    const changedModel = { ...model, properties: { uri: 'b.onnx' } };
    const plan = computePlan({
      ...base,
      desired: [changedModel, changedEndpoint],
      observed: [observedFrom(model), observedFrom(endpoint)],
    });
    expect(plan.actions.map((a) => a.kind)).toEqual(['replace', 'update']);
    expect(plan.actions[1]?.changes).toEqual([{ path: 'replicas', before: 2, after: 3 }]);
    expect(plan.actions[1]?.reason).toBe('spec changed');
  });

  it('reports drift when the tag matches but a live field differs', () => {
    const drifted = observedFrom(endpoint, { properties: { ...endpoint.properties, replicas: 9 } });
    const plan = computePlan({ ...base, desired: [endpoint], observed: [drifted] });
    expect(plan.actions[0]?.kind).toBe('update');
    expect(plan.actions[0]?.reason).toMatch(/drift/);
  });

  it('deletes leftovers after all writes, dependents first', () => {
    const oldModel = observedFrom({ ...model, name: 'old-model' });
    const oldConfig = observedFrom({
      type: 'c',
      name: 'old-config',
      properties: {},
      dependsOn: ['m/old-model'],
    });
    const plan = computePlan({ ...base, desired: [endpoint], observed: [oldModel, oldConfig] });
    const del = plan.actions.filter((a) => a.kind === 'delete');
    expect(del.map((a) => a.id)).toEqual(['m/old-model', 'c/old-config']);
    expect(del[0]?.dependsOn).toContain('c/old-config'); // the model goes after the config that uses it
    expect(del[0]?.dependsOn).toContain('e/iris'); // and after the create
  });

  it('replaces a failed resource', () => {
    const plan = computePlan({
      ...base,
      desired: [endpoint],
      observed: [observedFrom(endpoint, { state: 'failed' })],
    });
    expect(plan.actions[0]?.kind).toBe('replace');
  });

  it('refuses to adopt a resource modelport does not manage', () => {
    expect(() =>
      computePlan({
        ...base,
        desired: [endpoint],
        observed: [observedFrom(endpoint, { managed: false, specHash: undefined })],
      }),
    ).toThrow(ModelportError);
  });
});
