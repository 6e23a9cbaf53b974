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
export function smallestSatisfying<T extends InstanceSpec>(
  catalog: readonly T[],
  wanted: { vcpus: number; memoryGiB: number; accelerator?: { type: string; count: number } },
): T | undefined {
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

/** What `spec.compute` asks of a machine: each part optional (an accelerator's count defaults to 1). */
export interface ComputeRequest {
  cpu?: number;
  memoryGiB?: number;
  accelerator?: { type: string; count?: number };
}

/**
 * The type of `catalog` a compute request gets: `defaultName` when it asks for nothing, otherwise the
 * smallest type (among those `accept` lets through, all by default) with at least the asked vCPUs, memory
 * and accelerators (exact accelerator type, count 1 unless given). Undefined when none fits.
 */
export function pickForCompute<T extends InstanceSpec>(
  catalog: readonly T[],
  request: ComputeRequest,
  defaultName: string,
  accept: (t: T) => boolean = () => true,
): T | undefined {
  const wanted = request.accelerator;
  if (request.cpu === undefined && request.memoryGiB === undefined && wanted === undefined) {
    return catalog.find((t) => t.name === defaultName);
  }
  return smallestSatisfying(catalog.filter(accept), {
    vcpus: request.cpu ?? 0,
    memoryGiB: request.memoryGiB ?? 0,
    ...(wanted === undefined ? {} : { accelerator: { type: wanted.type, count: wanted.count ?? 1 } }),
  });
}

/** The neutral accelerator types some type of `catalog` carries, in catalog order (for the capabilities). */
export function acceleratorsOf(catalog: readonly InstanceSpec[]): string[] {
  return [...new Set(catalog.flatMap((t) => (t.accelerator === undefined ? [] : [t.accelerator.type])))];
}

export function describeInstance(t: InstanceSpec): string {
  const gpu = t.accelerator === undefined ? '' : `, ${t.accelerator.count}× ${t.accelerator.type}`;
  return `${t.name} (${t.vcpus} vCPU, ${t.memoryGiB} GiB${gpu})`;
}
