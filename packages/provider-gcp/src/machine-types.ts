import { acceleratorsOf, pickForCompute } from '@modelport/core';
import type { ComputeRequest, InstanceSpec } from '@modelport/core';

/**
 * Vertex AI machine types modelport picks from, as data (vCPUs, memory, attached GPUs with neutral names
 * matching the AWS catalog's). The smallest type that fits `spec.compute` is chosen; `compute.instanceType`
 * (any Vertex machine type) bypasses this.
 */
export interface MachineType extends InstanceSpec {
  /** Vertex's AcceleratorType enum name for the attached GPUs. */
  vertexAccelerator?: string;
}

const cpu = (name: string, vcpus: number, memoryGiB: number): MachineType => ({ name, vcpus, memoryGiB });
const gpu = (name: string, vcpus: number, memoryGiB: number, type: string, count: number): MachineType => ({
  name,
  vcpus,
  memoryGiB,
  accelerator: { type, count },
  vertexAccelerator: VERTEX_ACCELERATORS[type] as string,
});

/** Neutral accelerator names → Vertex's AcceleratorType. */
export const VERTEX_ACCELERATORS: Readonly<Record<string, string>> = {
  'nvidia-t4': 'NVIDIA_TESLA_T4',
  'nvidia-v100': 'NVIDIA_TESLA_V100',
  'nvidia-p100': 'NVIDIA_TESLA_P100',
  'nvidia-p4': 'NVIDIA_TESLA_P4',
  'nvidia-a100': 'NVIDIA_TESLA_A100',
  'nvidia-a100-80gb': 'NVIDIA_A100_80GB',
  'nvidia-l4': 'NVIDIA_L4',
  'nvidia-h100': 'NVIDIA_H100_80GB',
};

/** N1 machines take T4, V100, P100 or P4 GPUs attached to them; A2 come with A100s, G2 with L4s, A3 with H100s. */
const n1Gpus = (type: string): MachineType[] => [
  gpu('n1-standard-4', 4, 15, type, 1),
  gpu('n1-standard-8', 8, 30, type, 1),
  gpu('n1-standard-8', 8, 30, type, 2),
  gpu('n1-standard-16', 16, 60, type, 2),
  gpu('n1-standard-16', 16, 60, type, 4),
  gpu('n1-standard-32', 32, 120, type, 4),
];

/** Ordered from small to large within each family; CPU families first. */
export const MACHINE_CATALOG: readonly MachineType[] = [
  cpu('e2-standard-2', 2, 8),
  cpu('e2-standard-4', 4, 16),
  cpu('e2-standard-8', 8, 32),
  cpu('e2-standard-16', 16, 64),
  cpu('e2-standard-32', 32, 128),
  cpu('n1-standard-2', 2, 7.5),
  cpu('n1-standard-4', 4, 15),
  cpu('n1-standard-8', 8, 30),
  cpu('n1-standard-16', 16, 60),
  cpu('n1-standard-32', 32, 120),
  cpu('n1-highmem-2', 2, 13),
  cpu('n1-highmem-4', 4, 26),
  cpu('n1-highmem-8', 8, 52),
  cpu('n1-highmem-16', 16, 104),
  cpu('n1-highmem-32', 32, 208),
  cpu('n1-highcpu-4', 4, 3.6),
  cpu('n1-highcpu-8', 8, 7.2),
  cpu('n1-highcpu-16', 16, 14.4),
  cpu('n1-highcpu-32', 32, 28.8),
  cpu('e2-highmem-2', 2, 16),
  cpu('e2-highmem-4', 4, 32),
  cpu('e2-highmem-8', 8, 64),
  cpu('e2-highmem-16', 16, 128),
  cpu('n2-standard-2', 2, 8),
  cpu('n2-standard-4', 4, 16),
  cpu('n2-standard-8', 8, 32),
  cpu('n2-standard-16', 16, 64),
  cpu('n2-standard-32', 32, 128),
  ...n1Gpus('nvidia-t4'),
  ...n1Gpus('nvidia-v100'),
  ...n1Gpus('nvidia-p100'),
  gpu('g2-standard-4', 4, 16, 'nvidia-l4', 1),
  gpu('g2-standard-8', 8, 32, 'nvidia-l4', 1),
  gpu('g2-standard-12', 12, 48, 'nvidia-l4', 1),
  gpu('g2-standard-16', 16, 64, 'nvidia-l4', 1),
  gpu('g2-standard-24', 24, 96, 'nvidia-l4', 2),
  gpu('g2-standard-48', 48, 192, 'nvidia-l4', 4),
  gpu('a2-highgpu-1g', 12, 85, 'nvidia-a100', 1),
  gpu('a2-highgpu-2g', 24, 170, 'nvidia-a100', 2),
  gpu('a2-highgpu-4g', 48, 340, 'nvidia-a100', 4),
  gpu('a2-highgpu-8g', 96, 680, 'nvidia-a100', 8),
  gpu('a2-ultragpu-1g', 12, 170, 'nvidia-a100-80gb', 1),
  gpu('a2-ultragpu-2g', 24, 340, 'nvidia-a100-80gb', 2),
  gpu('a3-highgpu-8g', 208, 1872, 'nvidia-h100', 8),
];

/** Neutral names of the accelerators the catalog has, for the capabilities. */
export const ACCELERATORS: readonly string[] = acceleratorsOf(MACHINE_CATALOG);

export type { ComputeRequest } from '@modelport/core';

/** The default when nothing is asked for: 2 vCPUs, 7.5 GiB (what the Vertex console proposes first). */
export const DEFAULT_MACHINE_TYPE = 'n1-standard-2';

/**
 * The smallest catalog type with at least the asked vCPUs, memory and accelerators (exact accelerator
 * type); undefined when none fits. Size is compared by accelerator count, then vCPUs, then memory.
 */
export function pickMachineType(request: ComputeRequest): MachineType | undefined {
  return pickForCompute(MACHINE_CATALOG, request, DEFAULT_MACHINE_TYPE);
}
