import { readFileSync } from 'node:fs';

/**
 * True while a process with this pid exists and has not exited (EPERM: it exists but belongs to someone
 * else). A zombie counts as dead: a background process outlives the CLI that started it, so once it exits
 * only init can reap it, and an init that reaps late (or never, e.g. a container's PID 1 that is not an
 * init) would otherwise keep it "alive" to `kill(pid, 0)`.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  if (process.platform !== 'linux') return false;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // "pid (comm) state ...": comm may hold spaces and parentheses, so the state follows the last ')'.
  const state = stat.charAt(stat.lastIndexOf(')') + 2);
  return state === 'Z' || state === 'X';
}
