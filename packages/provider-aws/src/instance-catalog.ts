import { acceleratorsOf, pickForCompute } from '@modelport/core';
import type { ComputeRequest, InstanceSpec } from '@modelport/core';

/**
 * SageMaker instance types modelport picks from, as data: vCPUs, memory and accelerators per type. The
 * smallest (cheapest) type that fits `spec.compute` is chosen; `compute.instanceType` bypasses this.
 */
export interface InstanceType extends InstanceSpec {
  /** Usable for Batch Transform as well as for endpoints. */
  transform: boolean;
}

const cpu = (name: string, vcpus: number, memoryGiB: number): InstanceType => ({
  name,
  vcpus,
  memoryGiB,
  transform: name !== 'ml.c5.large',
});
const gpu = (
  name: string,
  vcpus: number,
  memoryGiB: number,
  type: string,
  count: number,
  transform = false,
): InstanceType => ({
  name,
  vcpus,
  memoryGiB,
  accelerator: { type, count },
  transform,
});

/** Ordered from small to large within each family; CPU families first. */
export const INSTANCE_CATALOG: readonly InstanceType[] = [
  cpu('ml.c5.large', 2, 4),
  cpu('ml.m5.large', 2, 8),
  cpu('ml.c5.xlarge', 4, 8),
  cpu('ml.m5.xlarge', 4, 16),
  cpu('ml.c5.2xlarge', 8, 16),
  cpu('ml.m5.2xlarge', 8, 32),
  cpu('ml.c5.4xlarge', 16, 32),
  cpu('ml.m5.4xlarge', 16, 64),
  cpu('ml.c5.9xlarge', 36, 72),
  cpu('ml.m5.12xlarge', 48, 192),
  cpu('ml.c5.18xlarge', 72, 144),
  cpu('ml.m5.24xlarge', 96, 384),
  gpu('ml.g4dn.xlarge', 4, 16, 'nvidia-t4', 1, true),
  gpu('ml.g4dn.2xlarge', 8, 32, 'nvidia-t4', 1, true),
  gpu('ml.g4dn.4xlarge', 16, 64, 'nvidia-t4', 1, true),
  gpu('ml.g4dn.8xlarge', 32, 128, 'nvidia-t4', 1, true),
  gpu('ml.g4dn.16xlarge', 64, 256, 'nvidia-t4', 1, true),
  gpu('ml.g4dn.12xlarge', 48, 192, 'nvidia-t4', 4, true),
  gpu('ml.g5.xlarge', 4, 16, 'nvidia-a10g', 1, true),
  gpu('ml.g5.2xlarge', 8, 32, 'nvidia-a10g', 1, true),
  gpu('ml.g5.4xlarge', 16, 64, 'nvidia-a10g', 1, true),
  gpu('ml.g5.8xlarge', 32, 128, 'nvidia-a10g', 1, true),
  gpu('ml.g5.16xlarge', 64, 256, 'nvidia-a10g', 1, true),
  gpu('ml.g5.12xlarge', 48, 192, 'nvidia-a10g', 4, true),
  gpu('ml.g5.24xlarge', 96, 384, 'nvidia-a10g', 4, true),
  gpu('ml.g5.48xlarge', 192, 768, 'nvidia-a10g', 8, true),
  gpu('ml.g6.xlarge', 4, 16, 'nvidia-l4', 1),
  gpu('ml.g6.2xlarge', 8, 32, 'nvidia-l4', 1),
  gpu('ml.g6.4xlarge', 16, 64, 'nvidia-l4', 1),
  gpu('ml.g6.8xlarge', 32, 128, 'nvidia-l4', 1),
  gpu('ml.g6.16xlarge', 64, 256, 'nvidia-l4', 1),
  gpu('ml.g6.12xlarge', 48, 192, 'nvidia-l4', 4),
  gpu('ml.g6.24xlarge', 96, 384, 'nvidia-l4', 4),
  gpu('ml.g6.48xlarge', 192, 768, 'nvidia-l4', 8),
  gpu('ml.p4d.24xlarge', 96, 1152, 'nvidia-a100', 8),
  gpu('ml.p5.48xlarge', 192, 2048, 'nvidia-h100', 8),
];

/** Accelerators some catalog type carries, in catalog order (declared in the capabilities). */
export const ACCELERATORS: readonly string[] = acceleratorsOf(INSTANCE_CATALOG);

export type { ComputeRequest } from '@modelport/core';

/** The default when nothing is asked for: a general-purpose 2 vCPU / 8 GiB instance. */
export const DEFAULT_INSTANCE_TYPE = 'ml.m5.large';

/**
 * The smallest catalog type with at least the asked vCPUs, memory and accelerators (exact accelerator
 * type), among the Batch Transform ones when `forTransform`; undefined when none fits. Size is compared by
 * accelerator count, then vCPUs, then memory.
 */
export function pickInstanceType(request: ComputeRequest, forTransform = false): InstanceType | undefined {
  return pickForCompute(
    INSTANCE_CATALOG,
    request,
    DEFAULT_INSTANCE_TYPE,
    (t) => !forTransform || t.transform,
  );
}
