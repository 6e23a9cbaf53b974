import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';

/** One deployment the local provider runs: a server (Endpoint) or a batch run (BatchJob). */
export interface DeploymentRow {
  kind: string;
  name: string;
  type: string;
  specHash: string;
  properties: Record<string, unknown>;
  state: string;
  pid: number | null;
  port: number | null;
  /** Bumped by each rollout request; the supervisor sets activeGeneration when it is serving it. */
  generation: number;
  activeGeneration: number;
  message: string | null;
  createdAt: number;
  updatedAt: number;
}

interface RawDeployment {
  kind: string;
  name: string;
  type: string;
  spec_hash: string;
  properties: string;
  state: string;
  pid: number | null;
  port: number | null;
  generation: number;
  active_generation: number;
  message: string | null;
  created_at: number;
  updated_at: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS deployments (
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  spec_hash TEXT NOT NULL,
  properties TEXT NOT NULL,
  state TEXT NOT NULL,
  pid INTEGER,
  port INTEGER,
  generation INTEGER NOT NULL DEFAULT 1,
  active_generation INTEGER NOT NULL DEFAULT 0,
  message TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (kind, name)
);
CREATE TABLE IF NOT EXISTS async_requests (
  id TEXT PRIMARY KEY,
  deployment TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  lease_until INTEGER,
  content_type TEXT NOT NULL,
  input_path TEXT NOT NULL,
  output_path TEXT NOT NULL,
  error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  expires_at INTEGER
);
CREATE INDEX IF NOT EXISTS async_by_state ON async_requests (deployment, state, created_at);
`;

/**
 * The local provider's state: SQLite under `.modelport/`, shared by the CLI and the background
 * processes it starts (WAL, so readers never block the writer; FULL sync, so an acknowledged row
 * survives `kill -9` and power loss).
 */
export class StateStore {
  readonly db: SqliteDatabase;
  private readonly statements: {
    get: Statement<[string, string], RawDeployment>;
    all: Statement<[], RawDeployment>;
    upsert: Statement<Record<string, unknown>>;
    remove: Statement<[string, string]>;
  };

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.db = new Database(join(dir, 'state.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 10000');
    this.db.exec(SCHEMA);
    this.statements = {
      get: this.db.prepare('SELECT * FROM deployments WHERE kind = ? AND name = ?'),
      all: this.db.prepare('SELECT * FROM deployments ORDER BY kind, name'),
      upsert: this.db.prepare(`
        INSERT INTO deployments (kind, name, type, spec_hash, properties, state, pid, port, generation,
                                 active_generation, message, created_at, updated_at)
        VALUES (@kind, @name, @type, @specHash, @properties, @state, @pid, @port, @generation,
                @activeGeneration, @message, @now, @now)
        ON CONFLICT (kind, name) DO UPDATE SET
          type = excluded.type, spec_hash = excluded.spec_hash, properties = excluded.properties,
          state = excluded.state, pid = excluded.pid, port = excluded.port, generation = excluded.generation,
          active_generation = excluded.active_generation, message = excluded.message, updated_at = excluded.updated_at`),
      remove: this.db.prepare('DELETE FROM deployments WHERE kind = ? AND name = ?'),
    };
  }

  get(kind: string, name: string): DeploymentRow | undefined {
    const raw = this.statements.get.get(kind, name);
    return raw === undefined ? undefined : toRow(raw);
  }

  all(): DeploymentRow[] {
    return this.statements.all.all().map(toRow);
  }

  put(row: Omit<DeploymentRow, 'createdAt' | 'updatedAt'>): void {
    this.statements.upsert.run({
      ...row,
      properties: JSON.stringify(row.properties),
      now: Date.now(),
    });
  }

  /** Changes some fields of an existing row in one statement (the supervisor reports pid/port/state). */
  update(
    kind: string,
    name: string,
    fields: Partial<
      Pick<DeploymentRow, 'state' | 'pid' | 'port' | 'activeGeneration' | 'message' | 'generation'>
    >,
  ): void {
    const columns: Record<string, string> = {
      state: 'state',
      pid: 'pid',
      port: 'port',
      activeGeneration: 'active_generation',
      message: 'message',
      generation: 'generation',
    };
    const sets = Object.keys(fields).map((key) => `${columns[key] ?? key} = @${key}`);
    if (sets.length === 0) return;
    this.db
      .prepare(
        `UPDATE deployments SET ${sets.join(', ')}, updated_at = @now WHERE kind = @kind AND name = @name`,
      )
      .run({ ...fields, kind, name, now: Date.now() });
  }

  remove(kind: string, name: string): void {
    this.statements.remove.run(kind, name);
  }

  close(): void {
    this.db.close();
  }
}

function toRow(raw: RawDeployment): DeploymentRow {
  return {
    kind: raw.kind,
    name: raw.name,
    type: raw.type,
    specHash: raw.spec_hash,
    properties: JSON.parse(raw.properties) as Record<string, unknown>,
    state: raw.state,
    pid: raw.pid,
    port: raw.port,
    generation: raw.generation,
    activeGeneration: raw.active_generation,
    message: raw.message,
    createdAt: raw.created_at,
    updatedAt: raw.updated_at,
  };
}
