// The test serving image, pinned for this process. The root vitest global setup builds the image into
// node_modules/.cache/modelport/test-serving-image/<hash> and removes the folders of older builds, so a
// run that starts while another (after a rebuild of packages/edge or packages/runtime) is using an older
// image would delete that image's files under the running emulator. A hard-linked copy beside the cache
// keeps the files of the image this process started with (no bytes are copied), and is removed at exit.
import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { readImageFolder, testServingImage, type ContainerImage } from '../shared/containers.js';

let pinned: Promise<ContainerImage> | undefined;

/** {@link testServingImage}, from a hard-linked copy that outlives a rebuild of the cache. */
export function pinnedServingImage(): Promise<ContainerImage> {
  pinned ??= (async () => {
    await testServingImage(); // the same error when the global setup did not run
    const dir = process.env['MODELPORT_TEST_SERVING_IMAGE'] as string;
    const target = join(dirname(dirname(dir)), `pinned-${process.pid}-${basename(dir)}`);
    if (!existsSync(join(target, 'image.json'))) {
      rmSync(target, { recursive: true, force: true });
      await promisify(execFile)('cp', ['-al', dir, target]);
    }
    process.once('exit', () => rmSync(target, { recursive: true, force: true }));
    return readImageFolder(target);
  })();
  return pinned;
}
