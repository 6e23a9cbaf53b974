// Debian tools the image tests drive (installed by .ci/run): found on PATH or in /usr/sbin, or the test skips.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export function which(tool: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin'];
  for (const dir of dirs) {
    if (dir !== '' && existsSync(join(dir, tool))) return join(dir, tool);
  }
  return undefined;
}

export function missingTools(...tools: string[]): string[] {
  return tools.filter((t) => which(t) === undefined);
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool to completion; never throws for a non-zero exit (tests look at the code). */
export async function tool(command: string, args: readonly string[]): Promise<ToolResult> {
  try {
    const { stdout, stderr } = await execFileAsync(which(command) ?? command, [...args], {
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? String(error),
    };
  }
}
