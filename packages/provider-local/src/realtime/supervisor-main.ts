// Entry of the background process of a local endpoint (started detached by ProcessLauncher).
import { parseArgs } from 'node:util';
import { runAsyncSupervisor } from '../async/async-server.js';
import type { EndpointProperties } from '../endpoint-properties.js';
import { StateStore } from '../state/state-store.js';
import { runRealtimeSupervisor } from './supervisor.js';

const { values } = parseArgs({
  options: { 'state-dir': { type: 'string' }, kind: { type: 'string' }, name: { type: 'string' } },
});
const stateDir = values['state-dir'];
const kind = values.kind;
const name = values.name;
if (stateDir === undefined || kind === undefined || name === undefined) {
  console.error('usage: supervisor-main --state-dir DIR --kind KIND --name NAME');
  process.exit(2);
}
const store = new StateStore(stateDir);
try {
  const row = store.get(kind, name);
  const mode = (row?.properties as unknown as EndpointProperties | undefined)?.mode;
  if (mode === 'async') await runAsyncSupervisor(store, kind, name);
  else await runRealtimeSupervisor(store, kind, name);
} catch (error) {
  console.error(
    JSON.stringify({ level: 'error', msg: 'supervisor failed', error: (error as Error).message }),
  );
  store.update(kind, name, { state: 'failed', message: (error as Error).message, pid: null });
  store.close();
  process.exit(1);
}
