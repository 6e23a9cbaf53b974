import type { Capabilities, ModeCapabilities, Support } from '@modelport/core';

const MARK: Record<Support, string> = { native: 'yes', emulated: 'emulated', none: '-' };

/** The payload limit, with the larger one a provider switch allows. */
export function payloadLimit(m: ModeCapabilities): string {
  const larger = m.largerPayloadWith;
  return larger === undefined || larger.maxPayloadMB <= m.maxPayloadMB
    ? `${m.maxPayloadMB} MB`
    : `${m.maxPayloadMB} MB (${larger.maxPayloadMB} with ${larger.extension})`;
}

function mode(m: ModeCapabilities): string {
  return m.support === 'none' ? '-' : `${MARK[m.support]} (${payloadLimit(m)}, ${m.maxTimeoutSeconds} s)`;
}

/** One row per provider: what each can do, as declared (the same table goes into docs/capabilities.md). */
export function capabilityRows(all: readonly Capabilities[]): { headers: string[]; rows: string[][] } {
  const headers = [
    'PROVIDER',
    'REALTIME',
    'SERVERLESS',
    'ASYNC',
    'BATCH',
    'SCALE TO 0',
    'ROLLOUTS',
    'SHADOW',
    'ACCELERATORS',
  ];
  const rows = all.map((c) => {
    const modes = Object.values(c.endpoint);
    const zero = (Object.keys(c.endpoint) as (keyof Capabilities['endpoint'])[]).filter(
      (k) => c.endpoint[k].support !== 'none' && c.endpoint[k].scaleToZero,
    );
    const rollouts = new Set(modes.flatMap((m) => m.rolloutStrategies));
    const accelerators = new Set(modes.flatMap((m) => m.accelerators));
    return [
      c.provider,
      mode(c.endpoint.realtime),
      mode(c.endpoint.serverless),
      mode(c.endpoint.async),
      c.batch.support === 'none' ? '-' : `${MARK[c.batch.support]} (${c.batch.engines.join(', ')})`,
      zero.length === 0 ? '-' : zero.join(', '),
      [...rollouts].join(', ') || '-',
      modes.some((m) => m.shadow) ? 'yes' : '-',
      accelerators.size === 0 ? '-' : [...accelerators].join(', '),
    ];
  });
  return { headers, rows };
}
