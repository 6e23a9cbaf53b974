import { describe, expect, it } from 'vitest';
import { loadBotocoreService, specsDirFrom } from '@modelport/testkit';
import { capabilities } from './capabilities.js';
import { ACCELERATORS, INSTANCE_CATALOG, pickInstanceType } from './instance-catalog.js';

describe('instance catalog', () => {
  it('picks the smallest type that fits, CPU by default', () => {
    expect(pickInstanceType({})?.name).toBe('ml.m5.large');
    expect(pickInstanceType({ cpu: 2, memoryGiB: 4 })?.name).toBe('ml.c5.large');
    expect(pickInstanceType({ cpu: 4, memoryGiB: 12 })?.name).toBe('ml.m5.xlarge');
    expect(pickInstanceType({ cpu: 2, memoryGiB: 4 }, true)?.name).toBe('ml.m5.large');
  });

  it('maps neutral accelerators to GPU families', () => {
    expect(pickInstanceType({ accelerator: { type: 'nvidia-t4' } })?.name).toBe('ml.g4dn.xlarge');
    expect(pickInstanceType({ accelerator: { type: 'nvidia-a10g', count: 4 } })?.name).toBe('ml.g5.12xlarge');
    expect(pickInstanceType({ accelerator: { type: 'nvidia-l4' }, memoryGiB: 60 })?.name).toBe(
      'ml.g6.4xlarge',
    );
    expect(pickInstanceType({ accelerator: { type: 'nvidia-a100' } })?.name).toBe('ml.p4d.24xlarge');
    expect(pickInstanceType({ accelerator: { type: 'nvidia-h100' } })?.name).toBe('ml.p5.48xlarge');
    expect(pickInstanceType({ accelerator: { type: 'nvidia-t4', count: 8 } })).toBeUndefined();
  });

  it('declares the accelerators it can map, and only for real-time and async', () => {
    expect(ACCELERATORS).toEqual(['nvidia-t4', 'nvidia-a10g', 'nvidia-l4', 'nvidia-a100', 'nvidia-h100']);
    expect(capabilities.endpoint.realtime.accelerators).toEqual(ACCELERATORS);
    expect(capabilities.endpoint.serverless.accelerators).toEqual([]);
  });

  it('names only instance types the official SageMaker model knows', (ctx) => {
    const dir = specsDirFrom();
    if (dir === undefined) ctx.skip();
    const model = loadBotocoreService(dir as string, 'sagemaker');
    const hosting = new Set(model.shapes['ProductionVariantInstanceType']?.enum);
    const transform = new Set(model.shapes['TransformInstanceType']?.enum);
    expect(INSTANCE_CATALOG.filter((t) => !hosting.has(t.name)).map((t) => t.name)).toEqual([]);
    expect(INSTANCE_CATALOG.filter((t) => t.transform && !transform.has(t.name)).map((t) => t.name)).toEqual(
      [],
    );
  });
});
