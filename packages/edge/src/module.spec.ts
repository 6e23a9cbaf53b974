import { Container } from '@modelport/core/di';
import { describe, expect, it } from 'vitest';

import { EdgePackager } from '@modelport/core';

import { EdgeBundlePackager } from './edge-packager.js';
import { edgeModule } from './module.js';

describe('edgeModule', () => {
  it('binds the EdgePackager port to the bundle packager, once', async () => {
    const container = new Container();
    await container.load(edgeModule);
    const packager = container.get<EdgePackager>(EdgePackager);
    expect(packager).toBeInstanceOf(EdgeBundlePackager);
    expect(container.get<EdgePackager>(EdgePackager)).toBe(packager);
  });
});
