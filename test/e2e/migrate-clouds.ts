// Every provider of the migration matrix in one run: the emulators started in the test process, one CLI
// environment that points each provider at its emulator, and per target the values only a user knows
// (project, role, workspace), passed to `modelport migrate` with --set.
import { awsVars, BUCKET as AWS_BUCKET, startEmulator } from './aws-helpers.js';
import { azureVars, startAzureCloud } from './azure-helpers.js';
import { BUCKET as GCS_BUCKET, gcpVars, startVertex } from './gcp-helpers.js';
import { cliEnv } from './helpers.js';

export interface Cloud {
  id: 'aws' | 'azure' | 'gcp' | 'local';
  /** The example manifest deployed as the source of its pairs (relative to the repo). */
  example: string;
  /** Values a migration to this provider leaves as TODOs, as `--set` paths. */
  required: Record<string, string>;
  /** The region to pass with --region when the source has none (the local provider). */
  region?: string;
}

export async function startClouds(
  stateDir: string,
): Promise<{ clouds: Cloud[]; env: NodeJS.ProcessEnv; stop: () => Promise<void> }> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const aws = await startEmulator();
    stops.push(() => aws.stop());
    const azure = await startAzureCloud();
    stops.push(() => azure.stop());
    const vertex = await startVertex();
    stops.push(() => vertex.stop());
    // Every provider's variables in one environment (the built-in AWS provider: no plugin folder).
    const env: NodeJS.ProcessEnv = {
      ...cliEnv(stateDir),
      ...awsVars(aws.url, stateDir),
      ...azureVars(azure),
      ...gcpVars(vertex, stateDir),
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
          // Only batch jobs and async endpoints need it; an online endpoint ignores it.
          'spec.extensions.azure.computeCluster': 'cpu-cluster',
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
