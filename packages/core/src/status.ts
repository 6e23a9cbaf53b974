/**
 * The neutral status every provider maps its own states onto, with one table per provider
 * (libcloud's NODE_STATE_MAP). The raw provider object stays available beside it.
 */
export const DeploymentState = {
  Absent: 'absent',
  Pending: 'pending',
  Creating: 'creating',
  Updating: 'updating',
  Ready: 'ready',
  Degraded: 'degraded',
  Running: 'running',
  Succeeded: 'succeeded',
  Failed: 'failed',
  Deleting: 'deleting',
  Stopped: 'stopped',
  Unknown: 'unknown',
} as const;
export type DeploymentState = (typeof DeploymentState)[keyof typeof DeploymentState];

/** States a waiter can stop on. */
export const TERMINAL_STATES: ReadonlySet<DeploymentState> = new Set([
  DeploymentState.Absent,
  DeploymentState.Ready,
  DeploymentState.Succeeded,
  DeploymentState.Failed,
  DeploymentState.Stopped,
]);

export function mapState<K extends string>(
  table: Readonly<Record<K, DeploymentState>>,
  raw: string | undefined,
): DeploymentState {
  if (raw === undefined) return DeploymentState.Unknown;
  return (table as Record<string, DeploymentState>)[raw] ?? DeploymentState.Unknown;
}
