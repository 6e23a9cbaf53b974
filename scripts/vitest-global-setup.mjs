// Root vitest global setup: the emulators run the real serving image (packages/testkit
// emulators/shared/containers.ts); build it once for the run and tell the test processes where it is.
import { ensureTestServingImage } from './test-serving-image.mjs';

export default async function setup() {
  process.env['MODELPORT_TEST_SERVING_IMAGE'] ??= await ensureTestServingImage();
}
