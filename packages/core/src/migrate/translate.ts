import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import type { Document, LineCounter } from 'yaml';
import type { Capabilities, EndpointMode, ModeCapabilities } from '../capabilities.js';
import { effectiveMaxPayloadMB, requiredExtensionsOf } from '../capabilities.js';
import { ModelportError } from '../errors.js';
import { uriScheme } from '../manifest/semantic.js';
import { DEFAULT_PROVIDER } from '../manifest/types.js';
import { loadYamlCst } from '../manifest/yaml-cst.js';
import { describeInstance, smallestSatisfying } from './instances.js';
import { equivalentRegion } from './regions.js';
import type { FieldOutcome, MigrationEntry, MigrationReport, MigrationTodo } from './report.js';
import { countOutcomes } from './report.js';
import { AZURE_DEFAULT_DATASTORE, objectKey, storageOf } from './storage.js';
import { isTodo, todoValue } from './todo.js';

export interface MigrateOptions {
  /** The target provider id. */
  to: string;
  /** The target region; by default the region of the same place (for clouds), else a TODO. */
  region?: string;
  capabilitiesOf(provider: string): Capabilities | undefined;
  installedProviders: readonly string[];
  /** The manifest file, for relative paths and line numbers. */
  sourceFile: string;
  /** Where the result will be written (relative paths are rebased to it); default: beside the source. */
  outFile?: string;
  /** Values to set in every document, by dotted path (`spec.extensions.gcp.project`), as YAML scalars. */
  set?: Readonly<Record<string, string>>;
}

export interface MigrationResult {
  /** The translated manifest, comments and key order of the input kept. */
  text: string;
  report: MigrationReport;
}

type Path = (string | number)[];
type Json = Record<string, unknown>;

/** Extension keys of a provider that configure a feature (not just plumbing): lost when leaving it. */
const FEATURE_EXTENSIONS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  aws: {
    rollbackAlarms: 'automatic rollback on CloudWatch alarms',
    deploymentStyle: 'SageMaker linear/canary traffic shifting',
    kmsKeyId: 'encryption with a customer-managed KMS key',
    subnets: 'a private VPC network',
    securityGroups: 'a private VPC network',
    snsSuccessTopic: 'SNS notifications of async results',
    snsErrorTopic: 'SNS notifications of async failures',
  },
  gcp: { network: 'a private VPC network (peering)' },
};

/** Where each provider keeps resource tags/labels, for carrying the user's own across. */
const TAG_KEYS: Readonly<Record<string, string>> = {
  aws: 'tags',
  azure: 'tags',
  gcp: 'labels',
  kserve: 'labels',
};

/**
 * Translates a manifest file's text to another provider: every field is carried, translated, lossy or
 * unsupported, with the reason, in the report; nothing is dropped silently. Comments and key order stay
 * (the `yaml` document API edits the parsed documents in place).
 */
export function translateManifest(text: string, options: MigrateOptions): MigrationResult {
  const yaml = loadYamlCst();
  const lines = new yaml.LineCounter();
  const docs = yaml.parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  // A second, untouched parse: line numbers of the input stay right while the first one is edited.
  const pristine = yaml.parseAllDocuments(text, { prettyErrors: false });
  if (!Array.isArray(docs) || !Array.isArray(pristine))
    throw new ModelportError('invalidInput', `${options.sourceFile}: not a YAML stream`);
  const target = options.capabilitiesOf(options.to);
  if (target === undefined) {
    throw new ModelportError('invalidInput', `provider "${options.to}" is not installed`, {
      hint: `installed providers: ${options.installedProviders.join(', ')}`,
    });
  }
  const report: MigrationReport = {
    to: options.to,
    from: [],
    entries: [],
    copies: [],
    todos: [],
    counts: { carried: 0, translated: 0, lossy: 0, unsupported: 0 },
  };
  for (const [index, doc] of docs.entries()) {
    if (doc.errors.length > 0) {
      const error = doc.errors[0];
      const at = error === undefined ? { line: 1, col: 1 } : lines.linePos(error.pos[0]);
      throw new ModelportError(
        'invalidInput',
        `${options.sourceFile}:${at.line}:${at.col}: ${error?.message ?? 'invalid YAML'}`,
        { hint: 'fix the manifest first (`modelport validate`)' },
      );
    }
    if (doc.contents === null) continue;
    const original = pristine[index];
    if (original === undefined) continue;
    new DocumentTranslation(doc, original, lines, target, options, report).run();
  }
  report.counts = countOutcomes(report.entries);
  const out = docs.map((d) => d.toString({ lineWidth: 0, flowCollectionPadding: false })).join('');
  return { text: out, report };
}

class DocumentTranslation {
  private readonly js: Json;
  private readonly id: string;
  private readonly ledger = new Map<string, MigrationEntry>();
  private readonly source: Capabilities | undefined;
  private readonly sourceId: string;

  constructor(
    private readonly doc: Document.Parsed,
    private readonly original: Document.Parsed,
    private readonly lines: LineCounter,
    private readonly target: Capabilities,
    private readonly options: MigrateOptions,
    private readonly report: MigrationReport,
  ) {
    this.js = (doc.toJS() ?? {}) as Json;
    const metadata = (this.js['metadata'] ?? {}) as Json;
    this.id = `${String(this.js['kind'])}/${String(metadata['name'])}`;
    const spec = (this.js['spec'] ?? {}) as Json;
    const targetJs = (spec['target'] ?? {}) as Json;
    this.sourceId = typeof targetJs['provider'] === 'string' ? targetJs['provider'] : DEFAULT_PROVIDER;
    this.source = options.capabilitiesOf(this.sourceId);
  }

  run(): void {
    const kind = this.js['kind'];
    if (kind === 'EdgePackage') {
      this.mark(['spec'], 'carried', { reason: 'an edge package does not depend on a provider' });
      this.finish();
      return;
    }
    if (kind !== 'Endpoint' && kind !== 'BatchJob') {
      throw new ModelportError('invalidInput', `${this.options.sourceFile}: unknown kind ${String(kind)}`, {
        hint: 'migrate takes Endpoint, BatchJob and EdgePackage manifests',
      });
    }
    if (this.source === undefined) {
      throw new ModelportError('invalidInput', `${this.id}: provider "${this.sourceId}" is not installed`, {
        hint: `installed providers: ${this.options.installedProviders.join(', ')}`,
      });
    }
    if (!this.report.from.includes(this.sourceId)) this.report.from.push(this.sourceId);
    this.translateTarget();
    this.translateModel();
    if (kind === 'Endpoint') {
      const mode = this.translateMode();
      const caps = this.target.endpoint[mode];
      this.translateCompute(caps.accelerators);
      this.translateScaling(mode, caps);
      this.translateTraffic(caps);
      this.translateLimits(caps);
      if (mode === 'async') this.translateAsync();
    } else {
      this.translateCompute(this.target.endpoint.realtime.accelerators);
      this.translateBatch();
    }
    this.translateExtensions();
    this.applySettings();
    this.checkName();
    this.finish();
  }

  // ---- the rules, one part of the spec each ----

  private translateTarget(): void {
    const to = this.options.to;
    const targetNode = this.get(['spec', 'target']);
    if (targetNode === undefined) this.set(['spec', 'target'], { provider: to });
    else this.set(['spec', 'target', 'provider'], to);
    this.mark(['spec', 'target', 'provider'], this.sourceId === to ? 'carried' : 'translated', {
      from: this.sourceId,
      to,
    });
    const region = this.get(['spec', 'target', 'region']) as string | undefined;
    if (this.options.region !== undefined) {
      this.set(['spec', 'target', 'region'], this.options.region);
      this.mark(['spec', 'target', 'region'], region === this.options.region ? 'carried' : 'translated', {
        from: region,
        to: this.options.region,
        reason: 'from --region',
      });
      return;
    }
    if (!this.target.requiresRegion) {
      if (region !== undefined) {
        this.delete(['spec', 'target', 'region']);
        this.mark(['spec', 'target', 'region'], 'translated', {
          from: region,
          to: '(none)',
          reason: `${this.target.displayName} takes no region`,
        });
      }
      return;
    }
    if (region !== undefined && this.sourceId === to) {
      this.mark(['spec', 'target', 'region'], 'carried');
      return;
    }
    const same = region === undefined ? undefined : equivalentRegion(this.sourceId, region, to);
    if (same !== undefined) {
      this.set(['spec', 'target', 'region'], same.region);
      this.mark(['spec', 'target', 'region'], 'translated', {
        from: region,
        to: same.region,
        reason: `the same place (${same.place})`,
      });
      return;
    }
    this.todo(['spec', 'target', 'region'], `a region of ${this.target.displayName} (pass --region)`, region);
  }

  private translateModel(): void {
    const format = this.get(['spec', 'model', 'format']) as string | undefined;
    if (format !== undefined) {
      if (this.target.modelFormats.includes(format)) this.mark(['spec', 'model', 'format'], 'carried');
      else
        this.mark(['spec', 'model', 'format'], 'unsupported', {
          reason: `${this.target.displayName} serves ${this.target.modelFormats.join(', ')} models`,
        });
    }
    const uri = this.get(['spec', 'model', 'uri']) as string | undefined;
    if (uri !== undefined) this.translateLocation(['spec', 'model', 'uri'], uri, 'copy');
    const image = this.get(['spec', 'model', 'image']) as string | undefined;
    if (image !== undefined && this.sourceId !== this.options.to) {
      const runsImages = this.target.modelFormats.includes('container');
      if (/(^|\/)modelport-serving(:|@|$)/.test(image)) {
        // The portable serving image: every provider serves ONNX with it (or, locally, with the runtime).
        this.delete(['spec', 'model', 'image']);
        this.mark(['spec', 'model', 'image'], 'translated', {
          from: image,
          to: runsImages ? `(the modelport serving image in ${this.options.to}'s registry)` : '(none)',
          reason: runsImages
            ? `push it where ${this.target.displayName} pulls from: \`modelport image push\``
            : `${this.target.displayName} serves the model with the same runtime, without an image`,
        });
      } else {
        this.mark(['spec', 'model', 'image'], runsImages ? 'lossy' : 'unsupported', {
          reason: runsImages
            ? `a custom image in ${this.sourceId}'s registry: push it where ${this.target.displayName} can pull it and update this reference`
            : `${this.target.displayName} runs no container images`,
        });
      }
    }
    this.mark(['spec', 'model', 'signature'], 'carried');
  }

  private translateMode(): EndpointMode {
    const mode = ((this.get(['spec', 'mode']) as EndpointMode | undefined) ?? 'realtime') as EndpointMode;
    const caps = this.target.endpoint[mode];
    const at: Path = ['spec', 'mode'];
    if (caps.support === 'native') {
      this.mark(at, 'carried', { reason: caps.via });
      return mode;
    }
    if (caps.support === 'emulated') {
      this.mark(at, 'lossy', {
        reason: `${this.target.displayName} has no native ${mode} endpoint: ${caps.via ?? 'emulated'}${caps.note === undefined ? '' : ` (${caps.note})`}`,
      });
      if (mode === 'async' && this.get(['spec', 'async', 'allowEmulation']) !== true) {
        this.set(['spec', 'async', 'allowEmulation'], true);
        this.mark(['spec', 'async', 'allowEmulation'], 'translated', {
          from: undefined,
          to: true,
          reason: `async on ${this.options.to} is emulated, which needs this consent; remove the document if you do not want it`,
        });
      }
      return mode;
    }
    // The mode does not exist on the target: the nearest one that does.
    this.set(at, 'realtime');
    if (mode === 'serverless') {
      this.mark(at, 'lossy', {
        from: mode,
        to: 'realtime',
        reason: `${this.target.displayName} has no serverless endpoints: always-on replicas instead of scale to zero`,
      });
    } else {
      this.mark(at, 'unsupported', {
        from: mode,
        to: 'realtime',
        reason: `${this.target.displayName} has no async endpoints, not even emulated: requests are answered synchronously, within the real-time limits`,
      });
      if (this.get(['spec', 'async']) !== undefined) {
        this.delete(['spec', 'async']);
        this.mark(['spec', 'async'], 'unsupported', { reason: 'the endpoint is no longer async' });
      }
    }
    return 'realtime';
  }

  private translateCompute(accelerators: readonly string[]): void {
    const compute = this.get(['spec', 'compute']) as Json | undefined;
    if (compute === undefined) return;
    const catalog = this.target.instances;
    const picked =
      catalog === undefined
        ? undefined
        : smallestSatisfying(catalog, {
            vcpus: (compute['cpu'] as number | undefined) ?? 0,
            memoryGiB: (compute['memoryGiB'] as number | undefined) ?? 0,
            ...accelerator(compute),
          });
    const pickNote =
      picked === undefined ? undefined : `${this.options.to} picks ${describeInstance(picked)}`;
    for (const key of ['cpu', 'memoryGiB'] as const) {
      if (compute[key] !== undefined)
        this.mark(['spec', 'compute', key], 'carried', pickNote === undefined ? {} : { reason: pickNote });
    }
    const wanted = compute['accelerator'] as { type?: string; count?: number } | undefined;
    if (wanted?.type !== undefined) {
      if (accelerators.includes(wanted.type)) {
        this.mark(['spec', 'compute', 'accelerator'], 'carried');
      } else {
        this.delete(['spec', 'compute', 'accelerator']);
        this.mark(['spec', 'compute', 'accelerator'], 'unsupported', {
          reason: `${this.target.displayName} offers ${accelerators.length === 0 ? 'no accelerators' : accelerators.join(', ')} here: the model runs on CPU`,
        });
      }
    }
    const instanceType = compute['instanceType'] as string | undefined;
    if (instanceType !== undefined) this.translateInstanceType(instanceType);
  }

  private translateInstanceType(name: string): void {
    const at: Path = ['spec', 'compute', 'instanceType'];
    if (this.sourceId === this.options.to) {
      this.mark(at, 'carried');
      return;
    }
    const spec = this.source?.instances?.find((t) => t.name === name);
    if (spec === undefined) {
      this.todo(
        at,
        `a ${this.options.to} instance type for ${name} (not in ${this.sourceId}'s catalog)`,
        name,
        'unsupported',
      );
      return;
    }
    const catalog = this.target.instances;
    if (catalog === undefined) {
      // No catalog on the target (local, KServe): it takes the resources themselves.
      this.delete(at);
      this.set(['spec', 'compute', 'cpu'], spec.vcpus);
      this.set(['spec', 'compute', 'memoryGiB'], spec.memoryGiB);
      if (spec.accelerator !== undefined)
        this.set(['spec', 'compute', 'accelerator'], { ...spec.accelerator });
      this.mark(at, 'translated', {
        from: name,
        to: `cpu ${spec.vcpus}, memoryGiB ${spec.memoryGiB}${spec.accelerator === undefined ? '' : `, ${spec.accelerator.count}× ${spec.accelerator.type}`}`,
        reason: `${this.target.displayName} takes resources, not instance types`,
      });
      return;
    }
    const match = smallestSatisfying(catalog, spec);
    if (match === undefined) {
      this.todo(
        at,
        `a ${this.options.to} instance type with ${describeInstance(spec)}: none in its catalog`,
        name,
        'unsupported',
      );
      return;
    }
    this.set(at, match.name);
    this.mark(at, 'translated', {
      from: name,
      to: match.name,
      reason: `the smallest ${this.options.to} type with ${describeInstance(spec)}: ${describeInstance(match)}`,
    });
  }

  private translateScaling(mode: EndpointMode, caps: ModeCapabilities): void {
    const scaling = this.get(['spec', 'scaling']) as Json | undefined;
    if (scaling === undefined) return;
    const min = scaling['minReplicas'] as number | undefined;
    const zero = scaling['scaleToZero'] === true || min === 0;
    if (zero && !caps.scaleToZero) {
      if (scaling['scaleToZero'] !== undefined) this.delete(['spec', 'scaling', 'scaleToZero']);
      this.set(['spec', 'scaling', 'minReplicas'], 1);
      this.mark(['spec', 'scaling', 'scaleToZero'], 'lossy', {
        from: true,
        to: false,
        reason: `${this.target.displayName} cannot scale ${mode} endpoints to zero: one replica stays up`,
      });
      this.mark(['spec', 'scaling', 'minReplicas'], min === 0 ? 'lossy' : 'carried', { from: min, to: 1 });
    }
    const metric = scaling['metric'] as string | undefined;
    if (metric === 'backlogPerReplica' && mode !== 'async') {
      this.set(['spec', 'scaling', 'metric'], 'requestsPerReplica');
      this.mark(['spec', 'scaling', 'metric'], 'lossy', {
        from: metric,
        to: 'requestsPerReplica',
        reason: 'no backlog without a queue: scaled on requests instead',
      });
    }
    const metrics = caps.scalingMetrics;
    const current = (this.get(['spec', 'scaling', 'metric']) as string | undefined) ?? undefined;
    if (caps.autoscaling && current !== undefined && metrics !== undefined && !metrics.includes(current)) {
      const nearest = metrics.includes('requestsPerReplica') ? 'requestsPerReplica' : metrics[0];
      if (nearest !== undefined) {
        this.set(['spec', 'scaling', 'metric'], nearest);
        this.mark(['spec', 'scaling', 'metric'], 'lossy', {
          from: current,
          to: nearest,
          reason: `${this.target.displayName} autoscales ${mode} endpoints on ${metrics.join(', ')}: check scaling.target for the new metric`,
        });
      }
    }
    if (!caps.autoscaling) {
      const floor = zero && !caps.scaleToZero ? 1 : (min ?? 1);
      for (const key of ['metric', 'target'] as const) {
        if (scaling[key] === undefined) continue;
        this.delete(['spec', 'scaling', key]);
        this.mark(['spec', 'scaling', key], 'lossy', {
          reason: `${this.target.displayName} does not autoscale ${mode} endpoints`,
        });
      }
      if (scaling['maxReplicas'] !== undefined && scaling['maxReplicas'] !== floor) {
        this.set(['spec', 'scaling', 'maxReplicas'], floor);
        this.mark(['spec', 'scaling', 'maxReplicas'], 'lossy', {
          from: scaling['maxReplicas'],
          to: floor,
          reason: `${this.target.displayName} does not autoscale ${mode} endpoints: a fixed ${floor} replica(s)`,
        });
      }
    }
  }

  private translateTraffic(caps: ModeCapabilities): void {
    const traffic = this.get(['spec', 'traffic']) as Json | undefined;
    if (traffic === undefined) return;
    const strategy = (traffic['strategy'] as string | undefined) ?? 'replace';
    if (!caps.rolloutStrategies.includes(strategy as never)) {
      const fallback =
        (['blue-green', 'replace'] as const).find((s) => caps.rolloutStrategies.includes(s)) ?? 'replace';
      this.set(['spec', 'traffic', 'strategy'], fallback);
      this.mark(['spec', 'traffic', 'strategy'], 'lossy', {
        from: strategy,
        to: fallback,
        reason: `${this.target.displayName} offers ${caps.rolloutStrategies.join(', ')} rollouts`,
      });
      if (traffic['canaryPercent'] !== undefined) {
        this.delete(['spec', 'traffic', 'canaryPercent']);
        this.mark(['spec', 'traffic', 'canaryPercent'], 'lossy', {
          reason: `no canary on ${this.options.to}`,
        });
      }
      if (fallback === 'replace' && traffic['bakeTimeSeconds'] !== undefined) {
        this.delete(['spec', 'traffic', 'bakeTimeSeconds']);
        this.mark(['spec', 'traffic', 'bakeTimeSeconds'], 'lossy', {
          reason: 'a replace rollout does not bake',
        });
      }
    }
    if ((traffic['shadowPercent'] as number | undefined) !== undefined && !caps.shadow) {
      this.delete(['spec', 'traffic', 'shadowPercent']);
      this.mark(['spec', 'traffic', 'shadowPercent'], 'unsupported', {
        reason: `${this.target.displayName} cannot mirror traffic to a shadow deployment`,
      });
    }
    if (Object.keys((this.get(['spec', 'traffic']) as Json | undefined) ?? {}).length === 0)
      this.delete(['spec', 'traffic']);
  }

  private translateLimits(caps: ModeCapabilities): void {
    const clamp = (key: 'payloadMB' | 'timeoutSeconds', max: number, unit: string): void => {
      const value = this.get(['spec', 'limits', key]) as number | undefined;
      if (value === undefined || value <= max) return;
      this.set(['spec', 'limits', key], max);
      const larger = key === 'payloadMB' ? caps.largerPayloadWith : undefined;
      const unless =
        larger === undefined || max >= larger.maxPayloadMB
          ? ''
          : ` (${larger.maxPayloadMB} with spec.extensions.${this.options.to}.${larger.extension}: true)`;
      this.mark(['spec', 'limits', key], 'lossy', {
        from: value,
        to: max,
        reason: `${this.target.displayName} allows at most ${max} ${unit}${unless}`,
      });
    };
    clamp('payloadMB', effectiveMaxPayloadMB(caps, this.targetExtensions()), 'MB per request');
    clamp('timeoutSeconds', caps.maxTimeoutSeconds, 's per request');
  }

  private translateAsync(): void {
    const caps = this.target.endpoint.async;
    const clamp = (key: 'maxPayloadMB' | 'timeoutSeconds', max: number): void => {
      const value = this.get(['spec', 'async', key]) as number | undefined;
      if (value === undefined || value <= max) return;
      this.set(['spec', 'async', key], max);
      this.mark(['spec', 'async', key], 'lossy', {
        from: value,
        to: max,
        reason: `${this.target.displayName} allows at most ${max}`,
      });
    };
    clamp('maxPayloadMB', caps.maxPayloadMB);
    clamp('timeoutSeconds', caps.maxTimeoutSeconds);
    const output = this.get(['spec', 'async', 'outputLocation']) as string | undefined;
    if (output !== undefined) this.translateLocation(['spec', 'async', 'outputLocation'], output, 'none');
  }

  private translateBatch(): void {
    const batch = this.target.batch;
    if (batch.support === 'none') {
      this.mark(['spec', 'batch'], 'unsupported', {
        reason: `${this.target.displayName} runs no batch jobs`,
      });
      return;
    }
    const input = this.get(['spec', 'batch', 'input']) as string | undefined;
    if (input !== undefined) this.translateLocation(['spec', 'batch', 'input'], input, 'copy');
    const output = this.get(['spec', 'batch', 'output']) as string | undefined;
    if (output !== undefined) this.translateLocation(['spec', 'batch', 'output'], output, 'none');
    const format = this.get(['spec', 'batch', 'format']) as string | undefined;
    if (format !== undefined && !batch.formats.includes(format as never)) {
      this.mark(['spec', 'batch', 'format'], 'unsupported', {
        reason: `${this.target.displayName} reads ${batch.formats.join(', ')}`,
      });
    }
    const engine = this.get(['spec', 'batch', 'engine']) as string | undefined;
    if (engine !== undefined && !batch.engines.includes(engine)) {
      this.delete(['spec', 'batch', 'engine']);
      this.mark(['spec', 'batch', 'engine'], 'translated', {
        from: engine,
        to: `(default: ${batch.defaultEngine})`,
        reason: `${this.options.to} runs batch jobs with ${batch.engines.join(', ')}`,
      });
    }
    if (this.get(['spec', 'batch', 'schedule']) !== undefined && !batch.schedule) {
      this.delete(['spec', 'batch', 'schedule']);
      this.mark(['spec', 'batch', 'schedule'], 'unsupported', {
        reason: `${this.target.displayName} has no scheduled jobs: run \`modelport apply\` from cron or CI`,
      });
    }
    if (this.get(['spec', 'batch', 'trigger']) !== undefined && !batch.triggerOnNewInput) {
      this.delete(['spec', 'batch', 'trigger']);
      this.mark(['spec', 'batch', 'trigger'], 'unsupported', {
        reason: `${this.target.displayName} cannot start a job on new input`,
      });
    }
    const miniBatchMB = this.get(['spec', 'batch', 'miniBatchMB']) as number | undefined;
    if (
      miniBatchMB !== undefined &&
      batch.maxMiniBatchMB !== undefined &&
      miniBatchMB > batch.maxMiniBatchMB
    ) {
      this.set(['spec', 'batch', 'miniBatchMB'], batch.maxMiniBatchMB);
      this.mark(['spec', 'batch', 'miniBatchMB'], 'lossy', {
        from: miniBatchMB,
        to: batch.maxMiniBatchMB,
        reason: `${this.target.displayName} takes mini-batches up to ${batch.maxMiniBatchMB} MB`,
      });
    }
  }

  private translateExtensions(): void {
    const to = this.options.to;
    const extensions = (this.get(['spec', 'extensions']) as Record<string, Json> | undefined) ?? {};
    for (const [provider, values] of Object.entries(extensions)) {
      if (provider === to) continue;
      const features = FEATURE_EXTENSIONS[provider] ?? {};
      for (const key of Object.keys(values ?? {})) {
        const at: Path = ['spec', 'extensions', provider, key];
        const feature = features[key];
        if (provider === this.sourceId && feature !== undefined) {
          this.mark(at, 'lossy', {
            reason: `${feature} is configured by modelport on ${provider} only: set it up on ${to} yourself`,
          });
        } else {
          this.mark(at, 'carried', {
            reason: `kept for ${provider} (a later migration back); ${to} ignores it`,
          });
        }
      }
    }
    // The user's own tags become the target's tags (labels), unless it has its own already.
    const sourceTags =
      this.sourceId === to ? undefined : extensions[this.sourceId]?.[TAG_KEYS[this.sourceId] ?? ''];
    const tagKey = TAG_KEYS[to];
    if (sourceTags !== undefined && tagKey !== undefined && extensions[to]?.[tagKey] === undefined) {
      this.set(['spec', 'extensions', to, tagKey], sourceTags);
      this.mark(['spec', 'extensions', to, tagKey], 'translated', {
        from: `extensions.${this.sourceId}.${TAG_KEYS[this.sourceId]}`,
        to: `extensions.${to}.${tagKey}`,
        reason: 'the same tags on the new resources',
      });
    }
    const own = (this.get(['spec', 'extensions', to]) as Json | undefined) ?? {};
    for (const key of Object.keys(own)) this.mark(['spec', 'extensions', to, key], 'carried');
    const kind = String(this.js['kind']);
    const mode =
      kind === 'Endpoint' ? ((this.get(['spec', 'mode']) as string | undefined) ?? 'realtime') : undefined;
    for (const required of requiredExtensionsOf(this.target, kind, mode)) {
      const at: Path = ['spec', 'extensions', to, required];
      if (own[required] !== undefined || this.setting(at) !== undefined) continue;
      this.todo(at, `spec.extensions.${to}.${required}, which ${this.target.displayName} needs`, undefined);
    }
  }

  /** A storage location: local paths stay (rebased for the output file), cloud URIs move to the target's store. */
  private translateLocation(at: Path, uri: string, copy: 'copy' | 'none'): void {
    const scheme = uriScheme(uri);
    if (scheme === 'file' && !this.target.modelUriSchemes.includes('file')) {
      const schemes = this.target.modelUriSchemes.map((x) => `${x}://`).join(', ');
      this.todo(
        at,
        `a ${schemes} location for ${uri} (${this.target.displayName} reads no local files): upload it there`,
        uri,
      );
      if (copy === 'copy')
        this.report.copies.push({
          document: this.id,
          path: dotted(at),
          from: uri,
          to: '(the location you fill in)',
        });
      return;
    }
    if (scheme === 'file') {
      const rebased = this.rebase(uri);
      if (rebased === uri) this.mark(at, 'carried');
      else {
        this.set(at, rebased);
        this.mark(at, 'translated', {
          from: uri,
          to: rebased,
          reason: 'the same file, relative to the output',
        });
      }
      return;
    }
    if (this.target.modelUriSchemes.includes(scheme)) {
      this.mark(at, 'carried', { reason: `${this.options.to} reads ${scheme}:// directly` });
      return;
    }
    const store = storageOf(this.options.to);
    const key = objectKey(uri);
    let translated: string | undefined;
    if (store.uri !== undefined && store.bucketKey !== undefined) {
      const bucketPath: Path = ['spec', 'extensions', this.options.to, store.bucketKey];
      const bucket =
        this.setting(bucketPath) ??
        (this.get(bucketPath) as string | undefined) ??
        (this.options.to === 'azure' ? AZURE_DEFAULT_DATASTORE : undefined);
      translated = bucket === undefined || isTodo(bucket) ? undefined : store.uri(bucket, key);
    } else if (this.target.modelUriSchemes.includes('file')) {
      translated = `./${basename(key) || 'artifact'}`;
    }
    if (translated === undefined) {
      this.todo(
        at,
        `a ${this.options.to} location for ${uri} (set spec.extensions.${this.options.to}.${store.bucketKey ?? 'bucket'})`,
        uri,
      );
      return;
    }
    this.set(at, translated);
    this.mark(at, 'translated', {
      from: uri,
      to: translated,
      reason:
        copy === 'copy'
          ? 'copy the data before applying (see the copy steps)'
          : `written to ${this.options.to}'s store`,
    });
    if (copy === 'copy')
      this.report.copies.push({ document: this.id, path: dotted(at), from: uri, to: translated });
  }

  private applySettings(): void {
    const yaml = loadYamlCst();
    for (const [dottedPath, raw] of Object.entries(this.options.set ?? {})) {
      const at = dottedPath.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
      if (at[0] !== 'spec' && at[0] !== 'metadata') {
        throw new ModelportError(
          'invalidInput',
          `--set ${dottedPath}: only spec.* and metadata.* can be set`,
        );
      }
      const before = this.get(at);
      const value: unknown = yaml.parse(raw);
      this.set(at, value);
      const key = dotted(at);
      this.report.todos = this.report.todos.filter((t) => !(t.document === this.id && t.path === key));
      this.mark(at, before === value ? 'carried' : 'translated', {
        from: before,
        to: value,
        reason: 'set with --set',
      });
    }
  }

  private checkName(): void {
    const name = this.get(['metadata', 'name']) as string | undefined;
    if (name !== undefined && name.length > this.target.maxNameLength) {
      this.mark(['metadata', 'name'], 'unsupported', {
        reason: `${this.target.displayName} takes names up to ${this.target.maxNameLength} characters: shorten it`,
      });
    }
  }

  /** Every field of the input gets an entry: the nearest rule above it, else carried. */
  private finish(): void {
    const entries = new Map(this.ledger);
    for (const leaf of leaves(this.js)) {
      const key = dotted(leaf);
      if (entries.has(key)) continue;
      const parent = [...this.ledger.values()]
        .filter((e) => key.startsWith(`${e.path}.`))
        .sort((a, b) => b.path.length - a.path.length)[0];
      entries.set(key, {
        document: this.id,
        path: key,
        line: this.lineOf(leaf),
        outcome: parent?.outcome ?? 'carried',
        ...(parent?.reason === undefined ? {} : { reason: parent.reason }),
      });
    }
    // Subtree rules were only there to classify the fields under them.
    for (const [key, entry] of entries) {
      const subtree = [...entries.keys()].some((k) => k.startsWith(`${key}.`));
      if (subtree && entry.from === undefined && entry.to === undefined && entry.outcome === 'carried')
        entries.delete(key);
    }
    this.report.entries.push(...[...entries.values()].sort((a, b) => (a.line ?? 1e9) - (b.line ?? 1e9)));
  }

  // ---- helpers ----

  private todo(at: Path, what: string, from: unknown, outcome: FieldOutcome = 'translated'): void {
    const setting = this.setting(at);
    if (setting !== undefined) return; // --set answers it
    this.set(at, todoValue(what));
    this.mark(at, outcome, { from, to: '(to fill in)', reason: what });
    const todo: MigrationTodo = { document: this.id, path: dotted(at), what };
    this.report.todos.push(todo);
  }

  /** The target's extensions as they will be: the document's, then what --set gives. */
  private targetExtensions(): Json {
    const at = ['spec', 'extensions', this.options.to];
    const own = { ...((this.get(at) as Json | undefined) ?? {}) };
    const prefix = `${dotted(at)}.`;
    for (const [key, raw] of Object.entries(this.options.set ?? {})) {
      if (key.startsWith(prefix)) own[key.slice(prefix.length)] = loadYamlCst().parse(raw) as unknown;
    }
    return own;
  }

  private setting(at: Path): string | undefined {
    return this.options.set?.[dotted(at)];
  }

  private mark(
    at: Path,
    outcome: FieldOutcome,
    details: { from?: unknown; to?: unknown; reason?: string | undefined } = {},
  ): void {
    const key = dotted(at);
    this.ledger.set(key, {
      document: this.id,
      path: key,
      line: this.lineOf(at),
      outcome,
      ...('from' in details ? { from: details.from } : {}),
      ...('to' in details ? { to: details.to } : {}),
      ...(details.reason === undefined ? {} : { reason: details.reason }),
    });
  }

  private lineOf(at: Path): number | undefined {
    for (let n = at.length; n > 0; n--) {
      const node = this.original.getIn(at.slice(0, n), true) as
        { range?: [number, number, number] } | undefined;
      if (node?.range !== undefined) return this.lines.linePos(node.range[0]).line;
    }
    return undefined;
  }

  private get(at: Path): unknown {
    const node = this.doc.getIn(at, true) as { toJSON?: () => unknown } | undefined;
    if (node === undefined || node === null) return undefined;
    return typeof node.toJSON === 'function' ? node.toJSON() : node;
  }

  private set(at: Path, value: unknown): void {
    this.doc.setIn(at, this.doc.createNode(value));
  }

  private delete(at: Path): void {
    this.doc.deleteIn(at);
    // An emptied map would read as `traffic: {}`: remove it too.
    for (let n = at.length - 1; n > 1; n--) {
      const parent = this.get(at.slice(0, n));
      if (parent !== null && typeof parent === 'object' && Object.keys(parent).length === 0)
        this.doc.deleteIn(at.slice(0, n));
      else break;
    }
  }

  private rebase(path: string): string {
    if (isAbsolute(path) || this.options.outFile === undefined) return path;
    const from = dirname(resolve(this.options.sourceFile));
    const to = dirname(resolve(this.options.outFile));
    if (from === to) return path;
    const rebased = relative(to, resolve(from, path));
    return rebased.startsWith('.') ? rebased : `./${rebased}`;
  }
}

function accelerator(compute: Json): { accelerator?: { type: string; count: number } } {
  const a = compute['accelerator'] as { type?: string; count?: number } | undefined;
  return a?.type === undefined ? {} : { accelerator: { type: a.type, count: a.count ?? 1 } };
}

function dotted(path: readonly (string | number)[]): string {
  return path.join('.');
}

/** Paths of the scalar fields (and of arrays of scalars, taken whole) of a plain value. */
function leaves(value: unknown, path: Path = []): Path[] {
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return [path];
    return value.flatMap((v, i) => leaves(v, [...path, i]));
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return [path];
    return entries.flatMap(([k, v]) => leaves(v, [...path, k]));
  }
  return [path];
}
