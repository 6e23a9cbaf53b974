// Helpers of the GCP end-to-end tests: a VertexEmulator (gRPC + fake GCS) in the test process, and the
// built CLI run as a child with the built-in GCP provider pointed at it through its environment (fake
// token, no metadata server, fast polls).
import { join } from 'node:path';
import { VertexEmulator } from '@modelport/testkit';
import { cliEnv, ROOT } from './helpers.js';

export const GCP_EXAMPLES = join(ROOT, 'examples/gcp');
export const BUCKET = 'modelport-examples-artifacts';

export async function startVertex(): Promise<VertexEmulator> {
  const emulator = new VertexEmulator({ buckets: [BUCKET] });
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
