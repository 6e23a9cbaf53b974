// The provider contract suite (@modelport/testkit) against the local provider, through the programmatic
// API of the `modelport` package: real server processes, real SQLite state, in a temp state folder.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { EndpointProvider } from 'modelport';
import { createRegistry, Modelport } from 'modelport';
import { providerContractSuite } from '@modelport/testkit';
import { afterAll, vi } from 'vitest';
import type { Workspace } from './helpers.js';
import { createWorkspace, killTree, processesMentioning, ROOT, writeManifest } from './helpers.js';

// better-sqlite3 is a dependency of provider-local, not of the repo root; the few members used, by hand.
interface Sqlite {
  pragma(source: string, options: { simple: true }): unknown;
  close(): void;
}
const Database = createRequire(join(ROOT, 'packages/provider-local/package.json'))('better-sqlite3') as new (
  path: string,
  options: { readonly: boolean; fileMustExist: boolean },
) => Sqlite;

/** Every method of the provider port: "total calls" counts them all. */
const METHODS = [
  'desired',
  'observe',
  'execute',
  'status',
  'list',
  'invoke',
  'invokeAsync',
  'asyncResult',
] as const;

let ws: Workspace | undefined;
const savedStateDir = process.env['MODELPORT_STATE_DIR'];

afterAll(async () => {
  // The suite's own teardown destroys through the API; this also runs when a test failed half-way.
  if (ws !== undefined) {
    for (const pid of processesMentioning(ws.stateDir)) killTree(pid);
    await ws.cleanup();
  }
  if (savedStateDir === undefined) delete process.env['MODELPORT_STATE_DIR'];
  else process.env['MODELPORT_STATE_DIR'] = savedStateDir;
});

providerContractSuite({
  provider: 'local',
  timeoutMs: 90_000,
  setup: async () => {
    ws = await createWorkspace('local-contract');
    const workspace = ws;
    // The provider (in this process) and the server processes it starts read their state folder from here.
    process.env['MODELPORT_STATE_DIR'] = workspace.stateDir;
    const name = `contract-local-${process.pid}`;
    const manifest = (file: string, payloadMB: string) =>
      writeManifest(join(workspace.dir, file), 'endpoint', [
        [/name: iris$/m, `name: ${name}`],
        ['payloadMB: 6', `payloadMB: ${payloadMB}`],
      ]);
    const manifests = {
      base: await manifest('base.yaml', '6'),
      // A changed limit: an in-place blue/green rollout (update) of the running server.
      changed: await manifest('changed.yaml', '8'),
      // Fails the schema (exclusiveMinimum 0), with a file:line:col diagnostic.
      invalid: await manifest('invalid.yaml', '-1'),
    };
    workspace.track(manifests.changed);

    const registry = createRegistry();
    const modelport = new Modelport({ registry });
    // The instance the registry hands out (a singleton for endpoints and batch jobs alike): its methods are
    // wrapped by spies that count and call through, so the provider runs for real.
    const provider: EndpointProvider = await registry.endpointProvider('local');
    const spies = new Map(
      METHODS.filter((m) => typeof provider[m] === 'function').map(
        (m) => [m, vi.spyOn(provider, m)] as const,
      ),
    );
    const executeSpy = spies.get('execute');
    if (executeSpy === undefined) throw new Error('the local provider has no execute method');

    // What counts as a write, honestly: (1) every `execute` call of the provider (the only method that is
    // meant to change anything: it starts, rolls out and stops servers and writes their rows), plus (2)
    // every commit to the provider's SQLite state made by anyone (the provider in this process or the
    // server processes), noticed through SQLite's `data_version` between two samples. (2) counts at most
    // one per sample, so the number is a lower bound; the suite only needs "did it change".
    let db: Sqlite | undefined;
    let lastVersion: unknown;
    let commitsSeen = 0;
    const sampleCommits = (): number => {
      try {
        db ??= new Database(join(workspace.stateDir, 'state.db'), { readonly: true, fileMustExist: true });
      } catch {
        return commitsSeen; // no state file yet: nothing was written
      }
      const version = db.pragma('data_version', { simple: true });
      if (lastVersion !== undefined && version !== lastVersion) commitsSeen++;
      lastVersion = version;
      return commitsSeen;
    };
    sampleCommits();

    return {
      modelport,
      manifests,
      writeCalls: () => executeSpy.mock.calls.length + sampleCommits(),
      // Calls of any provider method, reads included (the invalid manifest must not reach the provider).
      totalCalls: () =>
        [...spies.values()].reduce((sum, spy) => sum + spy.mock.calls.length, 0) + sampleCommits(),
    };
  },
  teardown: async (harness) => {
    await harness.modelport.destroy(harness.manifests.changed);
  },
});
