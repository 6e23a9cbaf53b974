import { ContainerModule } from '@modelport/core/di';

import { EdgePackager } from '@modelport/core';

import { EdgeBundlePackager } from './edge-packager.js';

/** Binds the edge packager (a composition root loads this only when it packages). */
export const edgeModule = new ContainerModule((options) => {
  options.bind(EdgeBundlePackager).toSelf().inSingletonScope();
  options.bind(EdgePackager).toService(EdgeBundlePackager);
});

export default edgeModule;
