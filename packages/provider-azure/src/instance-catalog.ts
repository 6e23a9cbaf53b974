import { acceleratorsOf, pickForCompute } from '@modelport/core';
import type { ComputeRequest, InstanceSpec } from '@modelport/core';

const cpu = (name: string, vcpus: number, memoryGiB: number): InstanceSpec => ({ name, vcpus, memoryGiB });
const gpu = (name: string, vcpus: number, memoryGiB: number, type: string, count: number): InstanceSpec => ({
  name,
  vcpus,
  memoryGiB,
  accelerator: { type, count },
});

/**
 * VM sizes of Azure ML managed online endpoints modelport picks from, as data (accelerators by the neutral
 * names the AWS catalog uses). Ordered small to large within each family; CPU families first.
 */
export const INSTANCE_CATALOG: readonly InstanceSpec[] = [
  cpu('Standard_DS1_v2', 1, 3.5),
  cpu('Standard_F2s_v2', 2, 4),
  cpu('Standard_DS2_v2', 2, 7),
  cpu('Standard_E2s_v3', 2, 16),
  cpu('Standard_F4s_v2', 4, 8),
  cpu('Standard_DS3_v2', 4, 14),
  cpu('Standard_E4s_v3', 4, 32),
  cpu('Standard_F8s_v2', 8, 16),
  cpu('Standard_DS4_v2', 8, 28),
  cpu('Standard_E8s_v3', 8, 64),
  cpu('Standard_F16s_v2', 16, 32),
  cpu('Standard_DS5_v2', 16, 56),
  cpu('Standard_E16s_v3', 16, 128),
  gpu('Standard_NC4as_T4_v3', 4, 28, 'nvidia-t4', 1),
  gpu('Standard_NC8as_T4_v3', 8, 56, 'nvidia-t4', 1),
  gpu('Standard_NC16as_T4_v3', 16, 110, 'nvidia-t4', 1),
  gpu('Standard_NC64as_T4_v3', 64, 440, 'nvidia-t4', 4),
  gpu('Standard_NC6s_v3', 6, 112, 'nvidia-v100', 1),
  gpu('Standard_NC12s_v3', 12, 224, 'nvidia-v100', 2),
  gpu('Standard_NC24s_v3', 24, 448, 'nvidia-v100', 4),
  gpu('Standard_NC24ads_A100_v4', 24, 220, 'nvidia-a100', 1),
  gpu('Standard_NC48ads_A100_v4', 48, 440, 'nvidia-a100', 2),
  gpu('Standard_NC96ads_A100_v4', 96, 880, 'nvidia-a100', 4),
  gpu('Standard_ND96asr_v4', 96, 900, 'nvidia-a100', 8),
  gpu('Standard_NC40ads_H100_v5', 40, 320, 'nvidia-h100', 1),
  gpu('Standard_NC80adis_H100_v5', 80, 640, 'nvidia-h100', 2),
  gpu('Standard_ND96isr_H100_v5', 96, 1900, 'nvidia-h100', 8),
];

export const ACCELERATORS: readonly string[] = acceleratorsOf(INSTANCE_CATALOG);

/** The default when nothing is asked for: 2 vCPUs, 7 GiB (the smallest size Azure ML recommends for serving). */
export const DEFAULT_INSTANCE_TYPE = 'Standard_DS2_v2';

export type { ComputeRequest } from '@modelport/core';

/** The smallest catalog size with at least the asked vCPUs, memory and accelerators; undefined if none fits. */
export function pickInstanceType(request: ComputeRequest): InstanceSpec | undefined {
  return pickForCompute(INSTANCE_CATALOG, request, DEFAULT_INSTANCE_TYPE);
}
