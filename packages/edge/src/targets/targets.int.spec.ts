// Greengrass component and IoT Edge deployment: checked against the official schemas in
// ../shared/specs, with negative cases; the Greengrass ZIP is the bundle, intact and verifiable.
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { EdgeArtifact } from '@modelport/core';

import { packageEdge } from '../packager.js';
import { flipByte, assertAppBuilt, loadEdgeManifest, TEST_CACHE_DIR } from '../testing/fixtures.js';
import { compileSpec, errorsOf, lowerCaseKeys, specsPresent } from '../testing/schemas.js';
import { tool, which } from '../testing/tools.js';
import { verifyBundle } from '../verify.js';
import { checkGreengrassArtifacts, type GreengrassRecipe } from './greengrass.js';
import { createOptionsFields, iotEdgeDeployment } from './iot-edge.js';

const GREENGRASS_SCHEMA = 'greengrass/recipe_schema.json';
const IOT_EDGE = [
  'iot-edge/azure-iot-edge-deployment-2.0.json',
  'iot-edge/azure-iot-edgeagent-deployment-1.1.json',
  'iot-edge/azure-iot-edgehub-deployment-1.2.json',
];
const haveGreengrassSchema = specsPresent(GREENGRASS_SCHEMA);
const haveIotEdgeSchemas = specsPresent(...IOT_EDGE);
if (!haveGreengrassSchema || !haveIotEdgeSchemas)
  console.warn(
    '../shared/specs is absent: the schema checks of the Greengrass and IoT Edge outputs are skipped',
  );

let work: string;
let artifacts: EdgeArtifact[];
let recipePath: string;
let recipe: GreengrassRecipe;

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

beforeAll(async () => {
  assertAppBuilt();
  work = await mkdtemp(join(tmpdir(), 'modelport-targets-'));
  artifacts = await packageEdge(await loadEdgeManifest(), {
    outDir: join(work, 'out'),
    // iot-edge only needs the image reference; the image itself is built by the OCI tests.
    formats: ['greengrass'],
    platforms: ['linux/amd64'],
    cacheDir: TEST_CACHE_DIR,
  });
  recipePath = artifacts.find((a) => a.format === 'greengrass' && a.platform === undefined)?.path ?? '';
  recipe = JSON.parse(await readFile(recipePath, 'utf8')) as GreengrassRecipe;
}, 240_000);

afterAll(() => rm(work, { recursive: true, force: true }));

describe('the Greengrass v2 component', () => {
  it('has a ZIP per platform under artifacts/<name>/<version>/ and a recipe whose Digest is base64 SHA-256', async () => {
    const zip = artifacts.find((a) => a.format === 'greengrass' && a.platform === 'linux/amd64');
    expect(zip?.path).toBe(
      join(work, 'out/greengrass/artifacts/dev.modelport.iris-edge/1.0.0/iris-edge-linux-amd64.zip'),
    );
    expect(recipePath).toBe(join(work, 'out/greengrass/recipes/dev.modelport.iris-edge-1.0.0.json'));
    const artifact = recipe.Manifests[0]?.Artifacts[0];
    expect(artifact).toMatchObject({
      Algorithm: 'SHA-256',
      Unarchive: 'ZIP',
      Digest: Buffer.from(zip?.sha256 ?? '', 'hex').toString('base64'),
    });
    expect(recipe.Manifests[0]?.Platform).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(recipe.Manifests[0]?.Lifecycle.Run.Script).toContain(
      '{artifacts:decompressedPath}/iris-edge-linux-amd64/run.mjs',
    );
    expect(await checkGreengrassArtifacts(recipePath, join(work, 'out/greengrass/artifacts'))).toEqual([]);
  });

  it.skipIf(!haveGreengrassSchema)('validates against the recipe schema; broken recipes do not', () => {
    const validate = compileSpec(GREENGRASS_SCHEMA);
    expect(validate(lowerCaseKeys(recipe)), errorsOf(validate)).toBe(true);
    const broken: [string, (r: Record<string, unknown> & GreengrassRecipe) => void][] = [
      ['no ComponentVersion', (r) => delete (r as Partial<GreengrassRecipe>).ComponentVersion],
      ['a component name with a space', (r) => (r.ComponentName = 'iris edge')],
      [
        'an unknown recipe format version',
        (r) => ((r as { RecipeFormatVersion: string }).RecipeFormatVersion = '2021-01-01'),
      ],
      [
        'a TAR artifact (Greengrass unarchives ZIP only)',
        (r) => ((r.Manifests[0]!.Artifacts[0] as { Unarchive: string }).Unarchive = 'TAR'),
      ],
      ['an unknown top-level key', (r) => (r['Component'] = 'x')],
      [
        'a permission that does not exist',
        (r) => ((r.Manifests[0]!.Artifacts[0]!.Permission as { Read: string }).Read = 'EVERYONE'),
      ],
    ];
    for (const [what, breakIt] of broken) {
      const copy = clone(recipe) as Record<string, unknown> & GreengrassRecipe;
      breakIt(copy);
      expect(validate(lowerCaseKeys(copy)), what).toBe(false);
    }
  });

  it('catches a ZIP that does not match its Digest', async () => {
    const artifactsDir = join(work, 'tampered-artifacts');
    await cp(join(work, 'out/greengrass/artifacts'), artifactsDir, { recursive: true });
    const zip = join(artifactsDir, 'dev.modelport.iris-edge/1.0.0/iris-edge-linux-amd64.zip');
    const bytes = await readFile(zip);
    flipByte(bytes, 100, 0x01);
    await writeFile(zip, bytes);
    expect(await checkGreengrassArtifacts(recipePath, artifactsDir)).toEqual([
      's3://REPLACE-WITH-YOUR-BUCKET/dev.modelport.iris-edge/1.0.0/iris-edge-linux-amd64.zip: the file does not match its Digest',
    ]);
  });

  it('holds the whole bundle: unzipped, it verifies; unzip agrees with the CRCs and keeps bin/node executable', async () => {
    const zip = artifacts.find((a) => a.format === 'greengrass' && a.platform === 'linux/amd64')?.path ?? '';
    const files = unzipSync(await readFile(zip));
    const dir = join(work, 'unzipped');
    for (const [name, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await writeFile(join(dir, name), content);
    }
    const report = await verifyBundle(dir);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    if (which('unzip') !== undefined) {
      expect((await tool('unzip', ['-tq', zip])).code).toBe(0);
      const listing = await tool('zipinfo', [zip, 'bin/node']);
      expect(listing.stdout).toMatch(/^-rwxr-xr-x/);
    }
  });
});

describe('the Azure IoT Edge deployment manifest', () => {
  const deployment = iotEdgeDeployment('iris-edge', '1.0.0', {}) as {
    modulesContent: Record<string, Record<string, Record<string, unknown>>>;
  };

  it('runs the serving image as a module with the queue on a volume; long createOptions are split', () => {
    const desired = deployment.modulesContent['$edgeAgent']!['properties.desired'] as {
      modules: Record<string, { settings: Record<string, string>; imagePullPolicy: string }>;
    };
    const module = desired.modules['iris-edge']!;
    expect(module.settings['image']).toBe('iris-edge:1.0.0');
    expect(module.imagePullPolicy).toBe('never'); // built locally, loaded on the (offline) device
    const options = JSON.parse(
      Object.keys(module.settings)
        .filter((k) => k.startsWith('createOptions'))
        .sort()
        .map((k) => module.settings[k])
        .join(''),
    ) as {
      HostConfig: { Binds: string[] };
    };
    expect(options.HostConfig.Binds).toEqual(['iris-edge-spool:/var/lib/modelport']);
    const pulled = iotEdgeDeployment('iris-edge', '1.0.0', {
      image: 'myacr.azurecr.io/iris-edge:1.0.0',
    }) as typeof deployment;
    expect(JSON.stringify(pulled)).toContain('"imagePullPolicy":"on-create"');
    const long = createOptionsFields({ Env: Array.from({ length: 60 }, (_, i) => `VARIABLE_${i}=value`) });
    expect(Object.keys(long)).toEqual(['createOptions', 'createOptions01', 'createOptions02']);
    expect(Object.values(long).every((v) => v.length <= 512)).toBe(true);
  });

  it.skipIf(!haveIotEdgeSchemas)(
    'validates against deployment 2.0, edgeAgent 1.1 and edgeHub 1.2; broken manifests do not',
    () => {
      const [deploymentSchema, agentSchema, hubSchema] = IOT_EDGE.map(compileSpec) as [
        ReturnType<typeof compileSpec>,
        ReturnType<typeof compileSpec>,
        ReturnType<typeof compileSpec>,
      ];
      expect(deploymentSchema(deployment), errorsOf(deploymentSchema)).toBe(true);
      expect(
        agentSchema({ $edgeAgent: deployment.modulesContent['$edgeAgent'] }),
        errorsOf(agentSchema),
      ).toBe(true);
      expect(hubSchema({ $edgeHub: deployment.modulesContent['$edgeHub'] }), errorsOf(hubSchema)).toBe(true);

      type Doc = typeof deployment;
      const agent = (d: Doc) =>
        d.modulesContent['$edgeAgent']!['properties.desired'] as Record<
          string,
          Record<string, Record<string, unknown>>
        >;
      const broken: [string, (d: Doc) => void][] = [
        ['no $edgeHub', (d) => delete d.modulesContent['$edgeHub']],
        [
          'createOptions as an object instead of a JSON string',
          (d) =>
            ((agent(d)['modules']!['iris-edge']!['settings'] as Record<string, unknown>)['createOptions'] = {
              HostConfig: {},
            }),
        ],
        [
          'a module without an image',
          (d) => delete (agent(d)['modules']!['iris-edge']!['settings'] as Record<string, unknown>)['image'],
        ],
        ['an unknown module status', (d) => (agent(d)['modules']!['iris-edge']!['status'] = 'paused')],
        [
          'a module name with a dot',
          (d) =>
            ((agent(d)['modules'] as Record<string, unknown>)['iris.edge'] =
              agent(d)['modules']!['iris-edge']),
        ],
        ['no edgeHub system module', (d) => delete agent(d)['systemModules']!['edgeHub']],
      ];
      for (const [what, breakIt] of broken) {
        const copy = clone(deployment);
        breakIt(copy);
        expect(deploymentSchema(copy), what).toBe(false);
      }
      const oldAgent = clone(deployment);
      (
        oldAgent.modulesContent['$edgeAgent']!['properties.desired'] as { schemaVersion: string }
      ).schemaVersion = '1.0';
      expect(agentSchema({ $edgeAgent: oldAgent.modulesContent['$edgeAgent'] })).toBe(false);
    },
  );
});
