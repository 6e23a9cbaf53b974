import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where compressed contents and downloaded Debian packages are kept between builds:
 * MODELPORT_CACHE_DIR, else $XDG_CACHE_HOME/modelport, else ~/.cache/modelport.
 */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['MODELPORT_CACHE_DIR'];
  if (explicit !== undefined && explicit !== '') return explicit;
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.cache'), 'modelport');
}
