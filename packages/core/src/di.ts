import type * as Inversify from 'inversify';

// Dependency injection for providers and the CLI: inversify, from the single-module bundle the build
// makes (scripts/bundle-vendor.mjs) when it is there: the package itself is ~560 ES modules and takes
// ~400 ms to load. Same classes and decorators either way; metadata lives in the global Reflect store.
const bundled = new URL('./vendor/inversify.js', import.meta.url).href;
const inversify = (await import(bundled).catch(() => import('inversify'))) as typeof Inversify;

export const { Container, ContainerModule, injectable, inject, multiInject, optional } = inversify;
export type Container = Inversify.Container;
export type ContainerModule = Inversify.ContainerModule;
export type ContainerModuleLoadOptions = Inversify.ContainerModuleLoadOptions;
