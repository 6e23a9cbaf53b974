import type { InstanceSpec } from '../capabilities.js';

/** Size order: accelerator count, then vCPUs, then memory (the catalogs' own notion of "smallest"). */
function bySize(a: InstanceSpec, b: InstanceSpec): number {
  return (
    (a.accelerator?.count ?? 0) - (b.accelerator?.count ?? 0) ||
    a.vcpus - b.vcpus ||
    a.memoryGiB - b.memoryGiB
  );
}

/**
 * The smallest type of `catalog` with at least the vCPUs, memory and accelerators of `wanted` (same
 * neutral accelerator type; a CPU type when `wanted` has none). Undefined when none satisfies it.
 */
export function smallestSatisfying(
  catalog: readonly InstanceSpec[],
  wanted: { vcpus: number; memoryGiB: number; accelerator?: { type: string; count: number } },
): InstanceSpec | undefined {
  const accelerator = wanted.accelerator;
  return catalog
    .filter(
      (t) =>
        t.vcpus >= wanted.vcpus &&
        t.memoryGiB >= wanted.memoryGiB &&
        (accelerator === undefined
          ? t.accelerator === undefined
          : t.accelerator?.type === accelerator.type && t.accelerator.count >= accelerator.count),
    )
    .sort(bySize)[0];
}

export function describeInstance(t: InstanceSpec): string {
  const gpu = t.accelerator === undefined ? '' : `, ${t.accelerator.count}× ${t.accelerator.type}`;
  return `${t.name} (${t.vcpus} vCPU, ${t.memoryGiB} GiB${gpu})`;
}
