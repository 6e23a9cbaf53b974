import { describe, expect, it } from 'vitest';
import { capabilities } from './capabilities.js';
import { MACHINE_CATALOG, pickMachineType } from './machine-types.js';

describe('Vertex machine types', () => {
  it('picks the smallest type that fits, with GPUs by their neutral names', () => {
    expect(pickMachineType({})?.name).toBe('n1-standard-2');
    expect(pickMachineType({ cpu: 4, memoryGiB: 16 })?.name).toBe('e2-standard-4');
    expect(pickMachineType({ cpu: 2, memoryGiB: 12 })?.name).toBe('n1-highmem-2');
    expect(pickMachineType({ accelerator: { type: 'nvidia-t4' } })).toMatchObject({
      name: 'n1-standard-4',
      vertexAccelerator: 'NVIDIA_TESLA_T4',
    });
    expect(pickMachineType({ accelerator: { type: 'nvidia-a100', count: 2 } })?.name).toBe('a2-highgpu-2g');
    expect(pickMachineType({ accelerator: { type: 'nvidia-l4' } })?.name).toBe('g2-standard-4');
    expect(pickMachineType({ cpu: 512 })).toBeUndefined();
  });

  it("declares the catalog in the capabilities, with the AWS catalog's accelerator names", () => {
    expect(capabilities.instances?.length).toBe(MACHINE_CATALOG.length);
    expect(capabilities.instances?.find((i) => i.name === 'a2-highgpu-1g')).toEqual({
      name: 'a2-highgpu-1g',
      vcpus: 12,
      memoryGiB: 85,
      accelerator: { type: 'nvidia-a100', count: 1 },
    });
    expect(capabilities.endpoint.realtime.accelerators).toEqual(
      expect.arrayContaining(['nvidia-t4', 'nvidia-v100', 'nvidia-a100', 'nvidia-l4']),
    );
    expect(capabilities.endpoint.async.support).toBe('emulated');
    expect(capabilities.endpoint.serverless.support).toBe('none');
  });
});
