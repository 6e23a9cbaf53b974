import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PlanAction, ProviderContext } from '@modelport/core';
import { ModelportError, sleep } from '@modelport/core';
import { logFile } from '../paths.js';
import type { StateStore } from '../state/state-store.js';
import { processAlive } from '../process-alive.js';

const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 40_000;
const SUPERVISOR = fileURLToPath(new URL('./supervisor-main.js', import.meta.url));

/**
 * Starts, rolls out and stops the background process of a local endpoint. The process outlives the
 * CLI; everything the two need to agree on goes through the SQLite state (pid, port, generation).
 */
export class ProcessLauncher {
  async start(store: StateStore, kind: string, action: PlanAction, ctx: ProviderContext): Promise<void> {
    const properties = action.desired?.properties ?? {};
    store.put({
      kind,
      name: action.name,
      type: action.type,
      specHash: action.specHash,
      properties,
      state: 'starting',
      pid: null,
      port: null,
      generation: 1,
      activeGeneration: 0,
      message: null,
    });
    const log = logFile(store.dir, kind, action.name);
    mkdirSync(dirname(log), { recursive: true });
    const out = openSync(log, 'a');
    const child = spawn(
      process.execPath,
      [SUPERVISOR, '--state-dir', store.dir, '--kind', kind, '--name', action.name],
      {
        detached: true,
        stdio: ['ignore', out, out],
        env: { ...process.env, MODELPORT_STATE_DIR: store.dir },
      },
    );
    closeSync(out);
    let exited: number | null | undefined;
    child.once('exit', (code) => {
      exited = code;
    });
    child.unref();
    ctx.progress(`starting server (pid ${child.pid ?? '?'}, log ${log})`);

    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const row = store.get(kind, action.name);
      if (row?.state === 'ready' && row.activeGeneration >= 1) {
        ctx.progress(`serving on http://127.0.0.1:${row.port ?? '?'}`);
        return;
      }
      if (exited !== undefined || row?.state === 'failed') {
        store.update(kind, action.name, { state: 'failed', pid: null });
        throw new ModelportError(
          'unavailable',
          `the local server for ${action.name} did not start: ${row?.message ?? tail(log)}`,
          {
            retryable: false,
            hint: `see the log: ${log}`,
          },
        );
      }
      if (Date.now() > deadline) {
        throw new ModelportError(
          'timeout',
          `the local server for ${action.name} was not ready within ${START_TIMEOUT_MS / 1000} s`,
          {
            hint: `see the log: ${log}`,
            retryable: false,
          },
        );
      }
      await sleep(50, ctx.signal);
    }
  }

  /** Blue/green: the supervisor starts the new version on the same port, then drains the old one. */
  async rollout(store: StateStore, kind: string, action: PlanAction, ctx: ProviderContext): Promise<void> {
    const row = store.get(kind, action.name);
    if (row?.pid == null)
      throw new ModelportError('unavailable', `${action.name} is not running`, { retryable: false });
    const generation = row.generation + 1;
    store.put({
      ...row,
      specHash: action.specHash,
      properties: action.desired?.properties ?? {},
      generation,
      message: null,
    });
    process.kill(row.pid, 'SIGHUP');
    ctx.progress(`rolling out generation ${generation} (blue/green)`);
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const now = store.get(kind, action.name);
      if (now !== undefined && now.activeGeneration >= generation) return;
      if (now?.message?.startsWith(`rollout ${generation} failed`) === true || Date.now() > deadline) {
        // Put the record back as it was: the old version still serves, and plan shows the change again.
        store.put({ ...row, message: now?.message ?? 'rollout timed out' });
        throw new ModelportError(
          'unavailable',
          `${now?.message ?? 'rollout timed out'}; the previous version keeps serving`,
          {
            retryable: false,
            hint: `see the log: ${logFile(store.dir, kind, action.name)}`,
          },
        );
      }
      await sleep(50, ctx.signal);
    }
  }

  async stop(store: StateStore, kind: string, name: string, ctx: ProviderContext): Promise<void> {
    const row = store.get(kind, name);
    const pid = row?.pid;
    if (pid === null || pid === undefined || !processAlive(pid)) return;
    ctx.progress(`stopping pid ${pid} (draining in-flight requests)`);
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (processAlive(pid)) {
      if (Date.now() > deadline) {
        process.kill(pid, 'SIGKILL');
        break;
      }
      await sleep(50);
    }
  }
}

function tail(path: string): string {
  try {
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    return lines.slice(-3).join(' | ') || 'no output';
  } catch {
    return 'no output';
  }
}
