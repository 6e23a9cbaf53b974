import { describe, expect, it } from 'vitest';
import { closest, validateAgainstSchema } from './schema-validator.js';

const valid = {
  apiVersion: 'modelport.dev/v1alpha1',
  kind: 'Endpoint',
  metadata: { name: 'iris' },
  spec: { model: { format: 'onnx', uri: './model.onnx' } },
};

describe('validateAgainstSchema', () => {
  it('accepts a minimal endpoint', () => {
    expect(validateAgainstSchema(valid)).toEqual([]);
  });
  it('suggests the closest field for a typo', () => {
    const issues = validateAgainstSchema({ ...valid, spec: { ...valid.spec, scalling: {} } });
    expect(issues[0]).toMatchObject({ code: 'schema.unknownField', path: ['spec', 'scalling'] });
    expect(issues[0]?.hint).toMatch(/did you mean "scaling"/);
  });
  it('names the allowed kinds for an unknown kind', () => {
    const [issue, more] = validateAgainstSchema({ ...valid, kind: 'Service' });
    expect(more).toBeUndefined();
    expect(issue).toMatchObject({ code: 'schema.kind', message: 'unknown kind "Service"' });
    expect(issue?.hint).toMatch(/kind is one of: Endpoint, BatchJob, EdgePackage/);
  });
});

describe('closest', () => {
  it('finds near misses only', () => {
    expect(closest('minReplica', ['minReplicas', 'maxReplicas'])).toBe('minReplicas');
    expect(closest('banana', ['minReplicas', 'maxReplicas'])).toBeUndefined();
  });
});
