import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Plan } from 'modelport';

const stateDir = mkdtempSync(join(tmpdir(), 'modelport-api-'));
process.env['MODELPORT_STATE_DIR'] = stateDir;
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

describe('the README API example', () => {
  it('deploys, invokes, plans no-op and destroys', async () => {
    const { main } = await import('./deploy-and-invoke.js');
    const result = (await main()) as {
      status: number;
      body: { predictions: { label: number }[] };
      plans: Plan[];
      events: string[];
    };
    expect(result.status).toBe(200);
    expect(result.body.predictions[0]?.label).toBe(0);
    expect(result.plans[0]?.actions.map((a) => a.kind)).toEqual(['noop']);
    expect(result.events).toContain('apply.done'); // destroy ran through the engine with events
  });
});
