import { TAGS } from '@modelport/core';
import { describe, expect, it } from 'vitest';
import { decodeLabel, decodeLabels, encodeLabel, encodeLabels, labelFilter } from './labels.js';

describe('GCP labels', () => {
  it('maps modelport tags to the GCP charset and back', () => {
    expect(encodeLabel(TAGS.managedBy)).toBe('modelport_2edev_2fmanaged-by');
    expect(encodeLabel('Endpoint')).toBe('_45ndpoint');
    expect(encodeLabel('a_b')).toBe('a_5fb');
    for (const text of [TAGS.name, 'Endpoint', 'BatchJob', 'a_b__c', 'déjà vu', 'x_41', '']) {
      expect(decodeLabel(encodeLabel(text))).toBe(text);
      expect(encodeLabel(text)).toMatch(/^[a-z0-9_-]*$/);
    }
  });

  it('keeps labels that are already valid as they are', () => {
    expect(encodeLabels({ team: 'examples', 'cost-center': 'ml-platform' })).toEqual({
      team: 'examples',
      'cost-center': 'ml-platform',
    });
    expect(decodeLabels({ team: 'examples', modelport_2edev_2fkind: '_45ndpoint' })).toEqual({
      team: 'examples',
      [TAGS.kind]: 'Endpoint',
    });
  });

  it('refuses what GCP would refuse once encoded, naming the label', () => {
    expect(() => encodeLabels({ Team: 'x' })).toThrow(/"Team"/);
    expect(() => encodeLabels({ team: 'X'.repeat(30) })).toThrow(/too long/);
    expect(() =>
      encodeLabels(Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']))),
    ).toThrow(/64 labels/);
  });

  it('filters a deployment by its encoded labels', () => {
    expect(labelFilter({ name: 'iris', kind: 'Endpoint' })).toBe(
      'labels.modelport_2edev_2fmanaged-by="modelport" AND labels.modelport_2edev_2fname="iris" AND labels.modelport_2edev_2fkind="_45ndpoint"',
    );
  });
});
