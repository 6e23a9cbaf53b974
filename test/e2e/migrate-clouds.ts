// Every provider of the migration matrix in one run: the emulators started in the test process, one CLI
// environment that points each provider at its emulator, and per target the values only a user knows
// (project, role, workspace), passed to `modelport migrate` with --set.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { AwsEmulator, AzureEmulator, startAzurite, VertexEmulator } from '@modelport/testkit';
import type { CliResult } from './helpers.js';
import { CLI, ROOT } from './helpers.js';

export interface Cloud {
  id: 'aws' | 'azure' | 'gcp' | 'local';
  /** The example manifest deployed as the source of its pairs (relative to the repo). */
  example: string;
  /** Values a migration to this provider leaves as TODOs, as `--set` paths. */
  required: Record<string, string>;
  /** The region to pass with --region when the source has none (the local provider). */
  region?: string;
}

const AWS_BUCKET = 'modelport-artifacts-123456789012';
const GCS_BUCKET = 'modelport-examples-artifacts';

export async function startClouds(
  stateDir: string,
): Promise<{ clouds: Cloud[]; env: NodeJS.ProcessEnv; stop: () => Promise<void> }> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const aws = new AwsEmulator({ buckets: [AWS_BUCKET] });
    await aws.start();
    stops.push(() => aws.stop());
    const azurite = await startAzurite();
    stops.push(() => azurite.stop());
    const azure = new AzureEmulator({ storage: azurite });
    await azure.start();
    stops.push(() => azure.stop());
    const vertex = new VertexEmulator({ buckets: [GCS_BUCKET] });
    await vertex.start();
    stops.push(() => vertex.stop());
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MODELPORT_STATE_DIR: stateDir,
      NO_COLOR: '1',
      FORCE_COLOR: '0',
      MODELPORT_AWS_ENDPOINT_URL: aws.url,
      MODELPORT_AWS_POLL_MS: '20',
      MODELPORT_AWS_WAIT_TIMEOUT_S: '60',
      AWS_ACCESS_KEY_ID: 'AKIAEMULATOREXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'emulator-secret-not-real',
      AWS_CONFIG_FILE: join(stateDir, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(stateDir, 'no-aws-credentials'),
      AWS_PROFILE: '',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      MODELPORT_AZURE_ARM_ENDPOINT: azure.url,
      MODELPORT_AZURE_BLOB_ENDPOINT: azurite.blobEndpoint,
      MODELPORT_AZURE_ACCESS_TOKEN: 'e2e-token-for-the-emulator',
      MODELPORT_AZURE_POLL_MS: '20',
      MODELPORT_AZURE_WAIT_TIMEOUT_S: '60',
      NODE_EXTRA_CA_CERTS: azure.caPath,
      MODELPORT_GCP_API_ENDPOINT: vertex.address,
      MODELPORT_GCS_ENDPOINT: vertex.gcsUrl,
      MODELPORT_GCP_POLL_MS: '10',
      MODELPORT_GCP_WAIT_TIMEOUT_S: '60',
      METADATA_SERVER_DETECTION: 'none',
      GOOGLE_APPLICATION_CREDENTIALS: join(stateDir, 'no-gcp-credentials.json'),
    };
    const clouds: Cloud[] = [
      {
        id: 'aws',
        example: 'examples/aws/iris-realtime.yaml',
        region: 'us-east-1',
        required: {
          'spec.extensions.aws.roleArn': 'arn:aws:iam::123456789012:role/modelport-sagemaker',
          'spec.extensions.aws.bucket': AWS_BUCKET,
        },
      },
      {
        id: 'azure',
        example: 'examples/azure/iris-online.yaml',
        region: 'eastus',
        required: {
          'spec.extensions.azure.subscriptionId': '00000000-0000-0000-0000-000000000000',
          'spec.extensions.azure.resourceGroup': 'modelport-examples',
          'spec.extensions.azure.workspace': 'modelport-ws',
        },
      },
      {
        id: 'gcp',
        example: 'examples/gcp/iris-endpoint.yaml',
        region: 'us-central1',
        required: {
          'spec.extensions.gcp.project': 'modelport-examples',
          'spec.extensions.gcp.bucket': GCS_BUCKET,
        },
      },
      { id: 'local', example: 'examples/iris/endpoint.yaml', required: {} },
    ];
    return { clouds, env, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Runs the built CLI with `env`; never throws for a non-zero exit code. */
export function runWithEnv(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 150_000,
): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (signal === null ? -1 : 128),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}
