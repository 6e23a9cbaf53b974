import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = `${root}packages/cli/dist/bin/modelport.js`;
const example = `${root}examples/aws/iris-realtime.yaml`;
const scratch = mkdtempSync(join(tmpdir(), 'modelport-out-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function modelport(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], {
    cwd: scratch,
    encoding: 'utf8',
    input: '',
    env: { ...process.env, MODELPORT_STATE_DIR: join(scratch, 'state'), NO_COLOR: '1' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('migrate -o: the output file', () => {
  it.each(['json', 'yaml', 'text'])(
    'refuses -o %s (the format is --output) and writes no file of that name',
    (word) => {
      const result = modelport('migrate', example, '--to', 'local', '-o', word);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`after migrate, -o \\(--out\\) is the output file`));
      expect(result.stderr).toMatch(
        new RegExp(`use --output ${word}; for a file named ${word}, write -o ./${word}`),
      );
      expect(existsSync(join(scratch, word))).toBe(false);
    },
  );

  it('refuses the attached forms too (-ojson, -o=json, --out json)', () => {
    for (const flags of [['-ojson'], ['-o=json'], ['--out', 'json']]) {
      const result = modelport('migrate', example, '--to', 'local', ...flags);
      expect(result.status, flags.join(' ')).toBe(2);
      expect(existsSync(join(scratch, 'json'))).toBe(false);
    }
  });

  it('writes a file named json when the path says so (-o ./json)', () => {
    const result = modelport('migrate', example, '--to', 'local', '-o', './json');
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(join(scratch, 'json'), 'utf8')).toMatch(/provider: local/);
  });

  it('writes the manifest to stdout with -o -', () => {
    const result = modelport('migrate', example, '--to', 'local', '-o', '-');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/provider: local/);
    expect(existsSync(join(scratch, '-'))).toBe(false);
  });

  it('writes through /dev/null: it stays a character device', () => {
    const result = modelport('migrate', example, '--to', 'local', '-o', '/dev/null');
    expect(result.status, result.stderr).toBe(0);
    expect(lstatSync('/dev/null').isCharacterDevice()).toBe(true);
    expect(result.stdout).toBe('');
  });

  it('refuses a FIFO and a symbolic link, naming them, and replaces neither', () => {
    const fifo = join(scratch, 'pipe.yaml');
    execFileSync('mkfifo', [fifo]);
    const toFifo = modelport('migrate', example, '--to', 'local', '-o', fifo);
    expect(toFifo.status).toBe(2);
    expect(toFifo.stderr).toContain(
      `refusing to write ${fifo}: it is a FIFO (named pipe), not a regular file`,
    );
    expect(lstatSync(fifo).isFIFO()).toBe(true);

    const target = join(scratch, 'kept.yaml');
    writeFileSync(target, 'kept\n');
    const link = join(scratch, 'link.yaml');
    symlinkSync(target, link);
    const toLink = modelport('migrate', example, '--to', 'local', '-o', link);
    expect(toLink.status).toBe(2);
    expect(toLink.stderr).toContain(`refusing to write ${link}: it is a symbolic link to ${target}`);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('kept\n');
  });

  it('refuses a FIFO given to compare --report before sending any request', () => {
    const fifo = join(scratch, 'report.html');
    execFileSync('mkfifo', [fifo]);
    writeFileSync(join(scratch, 'payloads.jsonl'), '{"instances":[[1,2,3,4]]}\n');
    const result = modelport(
      'compare',
      example,
      example,
      '-p',
      join(scratch, 'payloads.jsonl'),
      '--report',
      fifo,
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/refusing to write .*report\.html: it is a FIFO/);
    expect(result.stderr).toMatch(/another path to --report/);
  });
});
