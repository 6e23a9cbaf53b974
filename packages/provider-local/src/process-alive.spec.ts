import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { processAlive } from './process-alive.js';

describe('processAlive', () => {
  const started: number[] = [];

  afterEach(() => {
    for (const pid of started.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  });

  it('is true for a running process and false for a pid that does not exist', () => {
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(2 ** 22 + 1)).toBe(false); // above Linux's pid_max
  });

  it.runIf(process.platform === 'linux')(
    'is false for a zombie (exited, not reaped by its parent)',
    async () => {
      // The shell forks a short child, then becomes `sleep 30`, which never waits for it: the child stays a
      // zombie, like a killed background server that init has not reaped yet.
      const parent = spawn('sh', ['-c', 'sleep 0.5 & echo $!; exec sleep 30'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      if (parent.pid !== undefined) started.push(parent.pid);
      const zombie = await new Promise<number>((resolve) =>
        parent.stdout.once('data', (d: Buffer) => resolve(Number(d))),
      );
      expect(processAlive(zombie)).toBe(true); // still sleeping
      const deadline = Date.now() + 10_000;
      while (processAlive(zombie) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(processAlive(zombie)).toBe(false);
      // It has exited but still holds its pid: kill(pid, 0) alone would call it alive.
      expect(() => process.kill(zombie, 0)).not.toThrow();
      expect(processAlive(parent.pid ?? -1)).toBe(true);
    },
  );
});
