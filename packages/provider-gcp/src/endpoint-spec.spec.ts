import { readFileSync } from 'node:fs';
import type { LoadedEndpoint } from '@modelport/core';
import { loadManifestText } from '@modelport/core';
import { describe, expect, it } from 'vitest';
import { capabilities } from './capabilities.js';
import { endpointResources } from './endpoint-spec.js';
import { settingsOf } from './settings.js';

const EXAMPLE = readFileSync(
  new URL('../../../examples/gcp/iris-endpoint.yaml', import.meta.url),
  'utf8',
).replace(
  'uri: ../iris/model.onnx',
  `uri: ${new URL('../../../examples/iris/model.onnx', import.meta.url).pathname}`,
);

function load(edits: [string | RegExp, string][] = []): LoadedEndpoint {
  let text = EXAMPLE;
  for (const [from, to] of edits) text = text.replace(from, to);
  const { manifests, diagnostics } = loadManifestText(
    text,
    { file: '/tmp/endpoint.yaml', baseDir: '/tmp' },
    { installedProviders: ['gcp'], capabilitiesOf: (p) => (p === 'gcp' ? capabilities : undefined) },
  );
  const [manifest] = manifests;
  if (manifest === undefined) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  return manifest as LoadedEndpoint;
}

async function resources(edits: [string | RegExp, string][] = []) {
  const manifest = load(edits);
  return endpointResources(manifest, settingsOf(manifest));
}

describe('what an Endpoint becomes on Vertex AI', () => {
  it('maps compute, GPUs, replicas and the autoscaling metric onto the deployed model', async () => {
    const deployed = (
      await resources([
        [/compute:\n(?: {4}.*\n)+/, 'compute:\n    accelerator: { type: nvidia-t4, count: 1 }\n'],
        // A GPU image of the user's: validate refuses GPUs for the CPU-only portable serving image.
        [
          'format: onnx',
          'format: onnx\n    image: us-central1-docker.pkg.dev/modelport-examples/serving/onnx-gpu:1',
        ],
      ])
    ).find((r) => r.type === 'vertex:DeployedModel');
    expect(deployed?.properties).toMatchObject({
      machineType: 'n1-standard-4',
      accelerator: { type: 'NVIDIA_TESLA_T4', count: 1 },
      minReplicas: 1,
      maxReplicas: 4,
      autoscaling: [{ metric: 'aiplatform.googleapis.com/prediction/online/cpu/utilization', target: 60 }],
    });
  });

  it('uses Vertex prebuilt images for framework formats, from the nearest multi-region', async () => {
    const model = (
      await resources([
        ['format: onnx', 'format: sklearn'],
        ['region: us-central1', 'region: europe-west4'],
      ])
    ).find((r) => r.type === 'vertex:Model');
    expect(model?.properties['image']).toBe(
      'europe-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-5:latest',
    );
    expect(model?.properties['predictRoute']).toBeUndefined();
  });

  it('warns, located in the file, that a shared endpoint ends requests after 60 s', async () => {
    const manifest = load([['timeoutSeconds: 30', 'timeoutSeconds: 600']]);
    await endpointResources(manifest, settingsOf(manifest));
    expect(manifest.warnings).toContainEqual(
      expect.objectContaining({
        path: 'spec.limits.timeoutSeconds',
        message: expect.stringContaining('after 60 s'),
      }),
    );
  });

  it('refuses what Vertex AI cannot do, before any call', async () => {
    // A metric Vertex does not scale on is refused by validation (the capabilities list the metrics), and
    // again here for a manifest that reached the provider without it.
    expect(() => load([['metric: cpuUtilization', 'metric: concurrency']])).toThrow(/on concurrency/);
    const unvalidated = load();
    const scaling = unvalidated.manifest.spec.scaling as { metric?: string } | undefined;
    if (scaling === undefined) throw new Error('the GCP example has no scaling');
    scaling.metric = 'concurrency';
    await expect(endpointResources(unvalidated, settingsOf(unvalidated))).rejects.toMatchObject({
      kind: 'capability',
    });
    // Scaling to zero is refused by validation already (the capabilities say so).
    expect(() => load([['minReplicas: 1', 'minReplicas: 1\n    scaleToZero: true']])).toThrow(/to zero/);
    await expect(resources([['format: onnx', 'format: container\n    image: ""']])).rejects.toBeDefined();
    expect(() => settingsOf(load([[/ {4}region: us-central1\n/, '']]))).toThrow(/region/);
  });
});
