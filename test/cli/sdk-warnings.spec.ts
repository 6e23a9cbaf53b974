import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = `${root}packages/cli/dist/bin/modelport.js`;
const home = mkdtempSync(join(tmpdir(), 'modelport-sdk-warnings-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));
// The AWS SDK warns on Node < 22 (the Node this repository supports from 20 on).
const sdkWarns = Number(process.versions.node.split('.')[0]) < 22;

/** `plan` of the AWS example with no credentials at all: the SDK is loaded and fails at once (exit 6). */
function planAws(...globals: string[]): { status: number | null; stderr: string } {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AWS_')) env[key] = value;
  const result = spawnSync(
    process.execPath,
    [cli, ...globals, 'plan', `${root}examples/aws/iris-realtime.yaml`],
    {
      encoding: 'utf8',
      env: {
        ...env,
        HOME: home,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONFIG_FILE: join(home, 'none'),
        AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
        MODELPORT_STATE_DIR: join(home, 'state'),
        NO_COLOR: '1',
      },
    },
  );
  return { status: result.status, stderr: result.stderr };
}

describe("the AWS SDK's Node-version warning", () => {
  it('never reaches the terminal of a cloud command', () => {
    const result = planAws();
    expect(result.status).toBe(6);
    expect(result.stderr).toMatch(/Could not load credentials/);
    expect(result.stderr).not.toMatch(
      /NodeVersionSupportWarning|NodeDeprecationWarning|AWS SDK for JavaScript/,
    );
    expect(result.stderr).not.toMatch(/--trace-warnings/);
  });

  it.runIf(sdkWarns)('is said once, as a modelport line, with -v', () => {
    const result = planAws('-v');
    expect(result.status).toBe(6);
    const lines = result.stderr.split('\n').filter((l) => /AWS SDK for JavaScript/.test(l));
    expect(lines).toEqual([expect.stringMatching(/^modelport: note from the AWS SDK: .*require node >=22/)]);
    expect(result.stderr).not.toMatch(/NodeVersionSupportWarning|--trace-warnings/);
  });
});
