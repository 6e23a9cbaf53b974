// Helpers of the AWS end-to-end tests: an AwsEmulator in the test process, and the built CLI run as a child
// with the AWS provider loaded as a plugin and pointed at the emulator through its environment (static
// credentials through the SDK's default provider chain, fast polls).
import { join } from 'node:path';
import { AwsEmulator, servingImageRegistry } from '@modelport/testkit';
import { cliEnv, ROOT } from './helpers.js';

export const AWS_PROVIDER_DIR = join(ROOT, 'packages/provider-aws');
export const AWS_EXAMPLES = join(ROOT, 'examples/aws');
export const BUCKET = 'modelport-artifacts-123456789012';
/** The serving image reference of the examples (the account's ECR). */
export const SERVING_IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/modelport-serving:0.1.0';
/**
 * Regions the test account pushed the serving image to (ECR repositories are regional): a manifest
 * migrated from another cloud lands in the AWS region nearest its source.
 */
const IMAGE_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-central-1',
  'eu-north-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-south-1',
  'sa-east-1',
];

/**
 * The emulator, with the real serving image (its decoy model baked in) pushed to its ECR under the
 * examples' reference, as `modelport image push` pushes it: every endpoint, transform and Batch job runs it.
 */
export async function startEmulator(): Promise<AwsEmulator> {
  const emulator = new AwsEmulator({
    buckets: [BUCKET],
    images: await servingImageRegistry(
      IMAGE_REGIONS.map((region) => SERVING_IMAGE.replace('us-east-1', region)),
    ),
    healthCheckTimeoutMs: 30_000,
  });
  await emulator.start();
  return emulator;
}

/** The CLI's environment: the AWS plugin and {@link awsVars}. */
export function awsEnv(emulatorUrl: string, stateDir: string): NodeJS.ProcessEnv {
  return { ...cliEnv(stateDir), MODELPORT_PLUGINS: AWS_PROVIDER_DIR, ...awsVars(emulatorUrl, stateDir) };
}

/** What points the AWS provider at the emulator: its URL, fake keys for the default chain, fast polls. */
export function awsVars(emulatorUrl: string, stateDir: string): NodeJS.ProcessEnv {
  return {
    MODELPORT_AWS_ENDPOINT_URL: emulatorUrl,
    MODELPORT_AWS_POLL_MS: '20',
    MODELPORT_AWS_WAIT_TIMEOUT_S: '60',
    AWS_ACCESS_KEY_ID: 'AKIAEMULATOREXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'emulator-secret-not-real',
    // No profile of the machine may leak in.
    AWS_CONFIG_FILE: join(stateDir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(stateDir, 'no-aws-credentials'),
    AWS_PROFILE: '',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}
