// Helpers of the Azure end-to-end tests: azurite and an AzureEmulator in the test process, and the built CLI
// run as a child with the Azure provider pointed at them through its environment (the emulator's CA through
// NODE_EXTRA_CA_CERTS, a static token instead of DefaultAzureCredential, fast polls).
import { join } from 'node:path';
import type { RunningAzurite } from '@modelport/testkit';
import {
  AZURE_WORKSPACE_REGISTRY,
  AzureEmulator,
  ImageRegistry,
  startAzurite,
  testServingImage,
} from '@modelport/testkit';
import { cliEnv, ROOT } from './helpers.js';

export const AZURE_EXAMPLES = join(ROOT, 'examples/azure');

export interface AzureCloud {
  emulator: AzureEmulator;
  azurite: RunningAzurite;
  stop(): Promise<void>;
}

/** Where the Azure provider looks for the serving image: the workspace's own container registry. */
export const AZURE_SERVING_IMAGE = `${AZURE_WORKSPACE_REGISTRY}.azurecr.io/modelport-serving:0.1.0`;

/**
 * azurite and the ARM emulator, whose online deployments run the real serving image (pushed where the
 * workspace's registry would have it, with its decoy model baked in), with probe times at 5 % of Azure's.
 */
export async function startAzureCloud(images?: ImageRegistry): Promise<AzureCloud> {
  const registry = images ?? new ImageRegistry().push(AZURE_SERVING_IMAGE, await testServingImage());
  const azurite = await startAzurite();
  const emulator = new AzureEmulator({ storage: azurite, images: registry, probeScale: 0.05 });
  try {
    await emulator.start();
  } catch (error) {
    await azurite.stop().catch(() => undefined);
    throw error;
  }
  return {
    emulator,
    azurite,
    async stop() {
      await emulator.stop();
      await azurite.stop();
    },
  };
}

/** The CLI's environment: its state folder and {@link azureVars}. */
export function azureEnv(cloud: AzureCloud, stateDir: string): NodeJS.ProcessEnv {
  return { ...cliEnv(stateDir), ...azureVars(cloud) };
}

/** What points the Azure provider at the emulators: ARM URL and CA, azurite, a token, fast polls. */
export function azureVars(cloud: AzureCloud): NodeJS.ProcessEnv {
  return {
    MODELPORT_AZURE_ARM_ENDPOINT: cloud.emulator.url,
    MODELPORT_AZURE_BLOB_ENDPOINT: cloud.azurite.blobEndpoint,
    MODELPORT_AZURE_ACCESS_TOKEN: 'e2e-token-for-the-emulator',
    MODELPORT_AZURE_POLL_MS: '20',
    MODELPORT_AZURE_WAIT_TIMEOUT_S: '60',
    NODE_EXTRA_CA_CERTS: cloud.emulator.caPath,
  };
}
