// Helpers of the GCP end-to-end tests: a VertexEmulator (gRPC + fake GCS) in the test process, and the
// built CLI run as a child with the built-in GCP provider pointed at it through its environment (fake
// token, no metadata server, fast polls).
import { join } from 'node:path';
import type { VertexEmulatorOptions } from '@modelport/testkit';
import { ImageRegistry, pinnedServingImage, VertexEmulator } from '@modelport/testkit';
import { cliEnv, ROOT } from './helpers.js';

export const GCP_EXAMPLES = join(ROOT, 'examples/gcp');
export const BUCKET = 'modelport-examples-artifacts';

/** Where the GCP provider expects the portable serving image for the examples' project and region. */
export const SERVING_IMAGE_URI =
  'us-central1-docker.pkg.dev/modelport-examples/modelport/modelport-serving:0.1.0';

const SERVING_IMAGE_REGIONS = [
  'us-central1',
  'us-east1',
  'us-east4',
  'us-west1',
  'us-west2',
  'europe-west1',
  'europe-west2',
  'europe-west3',
  'europe-west4',
  'asia-northeast1',
  'asia-southeast1',
  'australia-southeast1',
];

/**
 * The emulated Vertex AI with the real serving image (the vitest global setup builds it, a decoy model
 * baked in) pushed where the provider expects it: every model container is that image, started as Vertex
 * starts a custom container.
 */
export async function startVertex(options: VertexEmulatorOptions = {}): Promise<VertexEmulator> {
  const image = await pinnedServingImage();
  const images = new ImageRegistry();
  // The project's Artifact Registry holds the image in every region a migrated manifest may land in.
  for (const region of SERVING_IMAGE_REGIONS) {
    images.push(SERVING_IMAGE_URI.replace('us-central1', region), image);
  }
  const emulator = new VertexEmulator({
    buckets: [BUCKET],
    images,
    // Liveness attempts 1 s apart instead of 10 s (the image opens its port in well under a second), and
    // restarts backing off from 0.5 s instead of 10 s.
    containers: { livenessIntervalMs: 1_000, restartBackoffMs: 500 },
    ...options,
  });
  await emulator.start();
  return emulator;
}

/** The CLI's environment: its state folder and {@link gcpVars}. */
export function gcpEnv(emulator: VertexEmulator, stateDir: string): NodeJS.ProcessEnv {
  return { ...cliEnv(stateDir), ...gcpVars(emulator, stateDir) };
}

/** What points the GCP provider at the emulator: gRPC and GCS endpoints, no metadata server, fast polls. */
export function gcpVars(emulator: VertexEmulator, stateDir: string): NodeJS.ProcessEnv {
  return {
    MODELPORT_GCP_API_ENDPOINT: emulator.address,
    MODELPORT_GCS_ENDPOINT: emulator.gcsUrl,
    MODELPORT_GCP_POLL_MS: '10',
    MODELPORT_GCP_WAIT_TIMEOUT_S: '60',
    METADATA_SERVER_DETECTION: 'none',
    // No credentials of the machine may leak in (the emulator path uses a fixed fake token).
    GOOGLE_APPLICATION_CREDENTIALS: join(stateDir, 'no-gcp-credentials.json'),
  };
}
