import type { Capabilities, ModeCapabilities } from '../capabilities.js';
import { effectiveMaxPayloadMB, requiredExtensionsOf } from '../capabilities.js';
import { validateCron } from './cron.js';
import type { PathSegment } from './diagnostics.js';
import type {
  BatchJobManifest,
  EndpointManifest,
  ModelportManifest,
  ModelSpec,
  ModelSignature,
} from './manifest.generated.js';
import { DEFAULT_PROVIDER } from './types.js';

/** A cross-field or capability problem, before it is placed in a file. */
export interface SemanticIssue {
  severity: 'error' | 'warning';
  code: string;
  path: PathSegment[];
  atKey?: boolean;
  message: string;
  hint?: string;
}

export interface SemanticContext {
  /** Ids of the installed providers, for the unknown-provider message. */
  installedProviders: readonly string[];
  /** Capabilities of a provider, or undefined when it is not installed. */
  capabilitiesOf(provider: string): Capabilities | undefined;
  /** Why an installed provider cannot be used (its declaration failed to load). */
  problemOf?(provider: string): string | undefined;
}

/**
 * The second validation layer: rules JSON Schema cannot say (min ≤ max, canary only with a percentage)
 * and what the target provider declares it can honour. A field the target cannot honour is reported
 * here, never silently dropped.
 */
export function checkSemantics(manifest: ModelportManifest, ctx: SemanticContext): SemanticIssue[] {
  const issues: SemanticIssue[] = [];
  checkModel(manifest.spec.model, issues);
  if (manifest.kind === 'EdgePackage') return issues;

  const provider = manifest.spec.target?.provider ?? DEFAULT_PROVIDER;
  const caps = ctx.capabilitiesOf(provider);
  const problem = ctx.problemOf?.(provider);
  if (caps === undefined && problem !== undefined) {
    issues.push({
      severity: 'error',
      code: 'semantic.brokenProvider',
      path: ['spec', 'target', 'provider'],
      message: `provider "${provider}" is installed but cannot be loaded: ${problem}`,
      hint: 'rebuild or reinstall that package',
    });
    return issues;
  }
  if (caps === undefined) {
    issues.push({
      severity: 'error',
      code: 'semantic.unknownProvider',
      path: ['spec', 'target', 'provider'],
      message: `provider "${provider}" is not installed`,
      hint: `installed providers: ${ctx.installedProviders.join(', ') || '(none)'}; a plugin is an npm package named modelport-provider-<id> declaring "modelport.provider" in its package.json`,
    });
    return issues;
  }
  checkTarget(manifest, caps, issues);
  checkModelForProvider(manifest.spec.model, caps, issues);
  checkExtensions(manifest, caps, issues);
  if (manifest.kind === 'Endpoint') checkEndpoint(manifest, caps, issues);
  else checkBatch(manifest, caps, issues);
  checkPortableImageGpus(manifest, caps, issues);
  return issues;
}

function checkModel(model: ModelSpec, issues: SemanticIssue[]): void {
  if (model.format === 'container' && model.image === undefined) {
    issues.push({
      severity: 'error',
      code: 'semantic.imageRequired',
      path: ['spec', 'model'],
      message: 'format "container" needs spec.model.image',
      hint: 'set spec.model.image to the serving image (registry/repository:tag)',
    });
  }
  if (model.format !== 'container' && model.uri === undefined) {
    issues.push({
      severity: 'error',
      code: 'semantic.uriRequired',
      path: ['spec', 'model'],
      message: `format "${model.format}" needs spec.model.uri`,
      hint: 'set spec.model.uri to the model file (a path relative to the manifest, s3://, gs://, azureml:// or https://)',
    });
  }
  if (model.signature !== undefined) checkSignature(model.signature, issues);
}

function checkSignature(signature: ModelSignature, issues: SemanticIssue[]): void {
  for (const side of ['inputs', 'outputs'] as const) {
    const seen = new Map<string, number>();
    (signature[side] ?? []).forEach((tensor, index) => {
      const first = seen.get(tensor.name);
      if (first !== undefined) {
        issues.push({
          severity: 'error',
          code: 'semantic.duplicateTensor',
          path: ['spec', 'model', 'signature', side, index, 'name'],
          message: `${side} name "${tensor.name}" is used twice (also at index ${first})`,
          hint: 'tensor names must be unique',
        });
      } else seen.set(tensor.name, index);
    });
  }
}

function checkTarget(
  manifest: EndpointManifest | BatchJobManifest,
  caps: Capabilities,
  issues: SemanticIssue[],
): void {
  const region = manifest.spec.target?.region;
  if (caps.requiresRegion && region === undefined) {
    issues.push({
      severity: 'error',
      code: 'semantic.regionRequired',
      path: ['spec', 'target'],
      message: `provider "${caps.provider}" needs spec.target.region`,
      hint: `set spec.target.region${caps.regions[0] === undefined ? '' : ` (e.g. ${caps.regions[0]})`}; modelport never picks a region for you`,
    });
  } else if (region !== undefined && caps.regions.length > 0 && !caps.regions.includes(region)) {
    issues.push({
      severity: 'warning',
      code: 'semantic.unknownRegion',
      path: ['spec', 'target', 'region'],
      message: `region "${region}" is not one ${caps.displayName} is known to have`,
      hint: `check the spelling; known regions include ${caps.regions.slice(0, 6).join(', ')}`,
    });
  }
  if (manifest.metadata.name.length > caps.maxNameLength) {
    issues.push({
      severity: 'error',
      code: 'semantic.nameTooLong',
      path: ['metadata', 'name'],
      message: `name is ${manifest.metadata.name.length} characters; ${caps.displayName} allows at most ${caps.maxNameLength}`,
      hint: 'choose a shorter metadata.name',
    });
  }
}

function checkModelForProvider(model: ModelSpec, caps: Capabilities, issues: SemanticIssue[]): void {
  if (!caps.modelFormats.includes(model.format)) {
    issues.push({
      severity: 'error',
      code: 'capability.modelFormat',
      path: ['spec', 'model', 'format'],
      message: `${caps.displayName} cannot serve format "${model.format}"`,
      hint: `supported formats: ${caps.modelFormats.join(', ')}`,
    });
  }
  if (model.uri !== undefined) {
    const scheme = uriScheme(model.uri);
    if (!caps.modelUriSchemes.includes(scheme)) {
      issues.push({
        severity: 'error',
        code: 'capability.uriScheme',
        path: ['spec', 'model', 'uri'],
        message: `${caps.displayName} cannot read models from ${scheme === 'file' ? 'a local path' : `${scheme}://`}`,
        hint: `use one of: ${caps.modelUriSchemes.map((s) => (s === 'file' ? 'a local path' : `${s}://`)).join(', ')}`,
      });
    }
  }
}

export function uriScheme(uri: string): string {
  const match = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri);
  return match?.[1]?.toLowerCase() ?? 'file';
}

function checkExtensions(
  manifest: EndpointManifest | BatchJobManifest,
  caps: Capabilities,
  issues: SemanticIssue[],
): void {
  const extensions = (manifest.spec.extensions ?? {}) as Record<string, Record<string, unknown> | undefined>;
  for (const key of Object.keys(extensions)) {
    if (key !== caps.provider) {
      issues.push({
        severity: 'warning',
        code: 'semantic.foreignExtensions',
        path: ['spec', 'extensions', key],
        atKey: true,
        message: `extensions.${key} is not used by target "${caps.provider}"`,
        hint: 'it is kept for a later migration; remove it if it is a leftover',
      });
    }
  }
  const own = extensions[caps.provider] ?? {};
  const mode = manifest.kind === 'Endpoint' ? (manifest.spec.mode ?? 'realtime') : undefined;
  for (const required of requiredExtensionsOf(caps, manifest.kind, mode)) {
    if (own[required] === undefined) {
      issues.push({
        severity: 'error',
        code: 'semantic.extensionRequired',
        path: ['spec', 'extensions', caps.provider],
        message: `${caps.displayName} needs spec.extensions.${caps.provider}.${required}`,
        hint: `add spec.extensions.${caps.provider}.${required}`,
      });
    }
  }
}

function checkEndpoint(manifest: EndpointManifest, caps: Capabilities, issues: SemanticIssue[]): void {
  const spec = manifest.spec;
  const mode = spec.mode ?? 'realtime';
  const modeCaps = caps.endpoint[mode];
  const modePath: PathSegment[] = spec.mode === undefined ? ['spec'] : ['spec', 'mode'];

  if (modeCaps.support === 'none') {
    issues.push({
      severity: 'error',
      code: 'capability.mode',
      path: modePath,
      message: `${caps.displayName} has no ${mode} endpoints${modeCaps.note === undefined ? '' : ` (${modeCaps.note})`}`,
      hint: `modes it offers: ${supportedModes(caps).join(', ') || 'none'}`,
    });
    return;
  }
  if (modeCaps.support === 'emulated') {
    // Emulating async changes its semantics (a batch job per request), so it needs the user's consent;
    // other emulations only change the cost model and are a warning.
    const needsConsent = mode === 'async';
    const allowed = !needsConsent || spec.async?.allowEmulation === true;
    issues.push({
      severity: allowed ? 'warning' : 'error',
      code: 'capability.emulatedMode',
      path: modePath,
      message: `${caps.displayName} has no native ${mode} endpoint; ${allowed ? 'it will run' : 'it can run'} as ${modeCaps.via ?? 'an emulation'}`,
      ...(allowed
        ? {}
        : { hint: 'set spec.async.allowEmulation: true to accept the emulation, or choose another mode' }),
    });
  }
  if (spec.async !== undefined && mode !== 'async') {
    issues.push({
      severity: 'error',
      code: 'semantic.asyncWithoutAsyncMode',
      path: ['spec', 'async'],
      atKey: true,
      message: `spec.async applies only to mode: async (this endpoint is ${mode})`,
      hint: 'set spec.mode: async, or remove spec.async',
    });
  }
  checkScaling(spec, mode, modeCaps, caps, issues);
  checkTraffic(spec, mode, modeCaps, caps, issues);
  checkLimits(spec, mode, modeCaps, caps, issues);
  checkCompute(spec.compute, modeCaps, caps, issues);
}

function supportedModes(caps: Capabilities): string[] {
  return (Object.keys(caps.endpoint) as (keyof Capabilities['endpoint'])[]).filter(
    (m) => caps.endpoint[m].support !== 'none',
  );
}

function checkScaling(
  spec: EndpointManifest['spec'],
  mode: string,
  modeCaps: ModeCapabilities,
  caps: Capabilities,
  issues: SemanticIssue[],
): void {
  const scaling = spec.scaling;
  if (scaling === undefined) return;
  const { minReplicas, maxReplicas } = scaling;
  if (minReplicas !== undefined && maxReplicas !== undefined && minReplicas > maxReplicas) {
    issues.push({
      severity: 'error',
      code: 'semantic.minAboveMax',
      path: ['spec', 'scaling', 'minReplicas'],
      message: `minReplicas (${minReplicas}) is greater than maxReplicas (${maxReplicas})`,
      hint: 'set minReplicas ≤ maxReplicas',
    });
  }
  if (scaling.scaleToZero === true && !modeCaps.scaleToZero) {
    issues.push({
      severity: 'error',
      code: 'capability.scaleToZero',
      path: ['spec', 'scaling', 'scaleToZero'],
      message: `${caps.displayName} cannot scale ${mode} endpoints to zero`,
      hint: scaleToZeroHint(caps),
    });
  }
  if (minReplicas === 0 && scaling.scaleToZero !== true) {
    issues.push({
      severity: 'error',
      code: 'semantic.zeroReplicas',
      path: ['spec', 'scaling', 'minReplicas'],
      message: 'minReplicas is 0 but scaleToZero is not set',
      hint: 'set scaling.scaleToZero: true to allow zero replicas, or minReplicas ≥ 1',
    });
  }
  if (scaling.metric === 'backlogPerReplica' && mode !== 'async') {
    issues.push({
      severity: 'error',
      code: 'semantic.backlogMetric',
      path: ['spec', 'scaling', 'metric'],
      message: 'metric backlogPerReplica applies only to async endpoints',
      hint: 'use requestsPerReplica, concurrency or cpuUtilization for a realtime endpoint',
    });
  }
  const metrics = modeCaps.scalingMetrics;
  if (scaling.metric !== undefined && metrics !== undefined && !metrics.includes(scaling.metric)) {
    issues.push({
      severity: 'error',
      code: 'capability.scalingMetric',
      path: ['spec', 'scaling', 'metric'],
      message: `${caps.displayName} cannot autoscale ${mode} endpoints on ${scaling.metric}`,
      hint: `use ${metrics.join(', ')}`,
    });
  }
  if ((scaling.metric === undefined) !== (scaling.target === undefined)) {
    issues.push({
      severity: 'error',
      code: 'semantic.metricTarget',
      path: ['spec', 'scaling', scaling.metric === undefined ? 'target' : 'metric'],
      message: 'scaling.metric and scaling.target go together',
      hint:
        scaling.metric === undefined
          ? 'add scaling.metric'
          : 'add scaling.target (the per-replica value to hold)',
    });
  }
  const scales = maxReplicas !== undefined && maxReplicas > (minReplicas ?? 1);
  if (scales && !modeCaps.autoscaling) {
    issues.push({
      severity: 'error',
      code: 'capability.autoscaling',
      path: ['spec', 'scaling', 'maxReplicas'],
      message: `${caps.displayName} does not autoscale ${mode} endpoints`,
      hint: 'set maxReplicas equal to minReplicas',
    });
  }
}

function scaleToZeroHint(caps: Capabilities): string {
  const modes = (Object.keys(caps.endpoint) as (keyof Capabilities['endpoint'])[]).filter(
    (m) => caps.endpoint[m].support !== 'none' && caps.endpoint[m].scaleToZero,
  );
  return modes.length === 0
    ? 'remove scaleToZero (set minReplicas ≥ 1)'
    : `use mode ${modes.join(' or ')}, or remove scaleToZero`;
}

function checkTraffic(
  spec: EndpointManifest['spec'],
  mode: string,
  modeCaps: ModeCapabilities,
  caps: Capabilities,
  issues: SemanticIssue[],
): void {
  const traffic = spec.traffic;
  if (traffic === undefined) return;
  const strategy = traffic.strategy ?? 'replace';
  if (strategy === 'canary') {
    const percent = traffic.canaryPercent;
    if (percent === undefined || percent <= 0 || percent >= 100) {
      issues.push({
        severity: 'error',
        code: 'semantic.canaryPercent',
        path: percent === undefined ? ['spec', 'traffic'] : ['spec', 'traffic', 'canaryPercent'],
        message:
          percent === undefined
            ? 'strategy canary needs traffic.canaryPercent'
            : `canaryPercent must be between 0 and 100 (exclusive), got ${percent}`,
        hint: 'set traffic.canaryPercent to the share of requests the new version gets first, e.g. 10',
      });
    }
  } else if (traffic.canaryPercent !== undefined) {
    issues.push({
      severity: 'error',
      code: 'semantic.canaryWithoutCanary',
      path: ['spec', 'traffic', 'canaryPercent'],
      atKey: true,
      message: `canaryPercent is set but the strategy is ${strategy}`,
      hint: 'set traffic.strategy: canary, or remove canaryPercent',
    });
  }
  if (traffic.bakeTimeSeconds !== undefined && strategy === 'replace') {
    issues.push({
      severity: 'warning',
      code: 'semantic.bakeWithoutRollout',
      path: ['spec', 'traffic', 'bakeTimeSeconds'],
      atKey: true,
      message: 'bakeTimeSeconds has no effect with strategy replace',
      hint: 'use strategy blue-green or canary, or remove bakeTimeSeconds',
    });
  }
  if (!modeCaps.rolloutStrategies.includes(strategy)) {
    issues.push({
      severity: 'error',
      code: 'capability.rollout',
      path: ['spec', 'traffic', 'strategy'],
      message: `${caps.displayName} cannot roll out ${mode} endpoints with strategy ${strategy}`,
      hint: `strategies it offers: ${modeCaps.rolloutStrategies.join(', ') || 'none'}`,
    });
  }
  if ((traffic.shadowPercent ?? 0) > 0 && !modeCaps.shadow) {
    issues.push({
      severity: 'error',
      code: 'capability.shadow',
      path: ['spec', 'traffic', 'shadowPercent'],
      message: `${caps.displayName} cannot mirror traffic to a shadow deployment`,
      hint: 'remove shadowPercent, or target a provider that supports shadow traffic',
    });
  }
}

function checkLimits(
  spec: EndpointManifest['spec'],
  mode: string,
  modeCaps: ModeCapabilities,
  caps: Capabilities,
  issues: SemanticIssue[],
): void {
  const payload =
    mode === 'async' ? (spec.async?.maxPayloadMB ?? spec.limits?.payloadMB) : spec.limits?.payloadMB;
  const payloadPath: PathSegment[] =
    mode === 'async' && spec.async?.maxPayloadMB !== undefined
      ? ['spec', 'async', 'maxPayloadMB']
      : ['spec', 'limits', 'payloadMB'];
  const own = (spec.extensions as Record<string, Record<string, unknown> | undefined> | undefined)?.[
    caps.provider
  ];
  const limit = effectiveMaxPayloadMB(modeCaps, own);
  if (payload !== undefined && payload > limit) {
    const larger = modeCaps.largerPayloadWith;
    const switchHint =
      larger !== undefined && limit < larger.maxPayloadMB
        ? `, or set spec.extensions.${caps.provider}.${larger.extension}: true (${larger.maxPayloadMB} MB)`
        : '';
    issues.push({
      severity: 'error',
      code: 'capability.payload',
      path: payloadPath,
      message: `${payload} MB is above the ${limit} MB ${caps.displayName} accepts for ${mode} requests`,
      hint:
        mode === 'async'
          ? `lower it to ${limit} MB or less${switchHint}`
          : `lower it to ${limit} MB or less${switchHint}, or use mode: async for large payloads`,
    });
  }
  const timeout =
    mode === 'async'
      ? (spec.async?.timeoutSeconds ?? spec.limits?.timeoutSeconds)
      : spec.limits?.timeoutSeconds;
  const timeoutPath: PathSegment[] =
    mode === 'async' && spec.async?.timeoutSeconds !== undefined
      ? ['spec', 'async', 'timeoutSeconds']
      : ['spec', 'limits', 'timeoutSeconds'];
  if (timeout !== undefined && timeout > modeCaps.maxTimeoutSeconds) {
    issues.push({
      severity: 'error',
      code: 'capability.timeout',
      path: timeoutPath,
      message: `${timeout} s is above the ${modeCaps.maxTimeoutSeconds} s ${caps.displayName} allows for ${mode} requests`,
      hint:
        mode === 'async'
          ? `lower it to ${modeCaps.maxTimeoutSeconds} s or less`
          : `lower it to ${modeCaps.maxTimeoutSeconds} s or less, or use mode: async for long work`,
    });
  }
}

function checkCompute(
  compute: EndpointManifest['spec']['compute'],
  modeCaps: ModeCapabilities,
  caps: Capabilities,
  issues: SemanticIssue[],
): void {
  if (compute === undefined) return;
  const accelerator = compute.accelerator;
  if (accelerator !== undefined && !modeCaps.accelerators.includes(accelerator.type)) {
    issues.push({
      severity: 'error',
      code: 'capability.accelerator',
      path: ['spec', 'compute', 'accelerator', 'type'],
      message: `${caps.displayName} cannot attach accelerator "${accelerator.type}" here`,
      hint:
        modeCaps.accelerators.length === 0
          ? 'this mode runs on CPU only: remove compute.accelerator'
          : `available: ${modeCaps.accelerators.join(', ')}`,
    });
  }
  if (compute.instanceType !== undefined && (compute.cpu !== undefined || compute.memoryGiB !== undefined)) {
    issues.push({
      severity: 'warning',
      code: 'semantic.instanceTypeWins',
      path: ['spec', 'compute', 'instanceType'],
      message: 'instanceType is set, so cpu and memoryGiB are not used to pick the instance',
      hint: 'remove cpu/memoryGiB, or remove instanceType to let modelport pick the smallest type that fits',
    });
  }
}

function checkBatch(manifest: BatchJobManifest, caps: Capabilities, issues: SemanticIssue[]): void {
  const batch = manifest.spec.batch;
  const batchCaps = caps.batch;
  const accelerator = manifest.spec.compute?.accelerator;
  if (accelerator !== undefined && attachesNoAccelerator(caps)) {
    // Batch capabilities declare no accelerators; a provider that attaches none to any endpoint is CPU only.
    issues.push({
      severity: 'error',
      code: 'capability.accelerator',
      path: ['spec', 'compute', 'accelerator', 'type'],
      message: `${caps.displayName} cannot attach accelerator "${accelerator.type}": it runs on CPU only`,
      hint: 'remove compute.accelerator',
    });
  }
  if (batchCaps.support === 'none') {
    issues.push({
      severity: 'error',
      code: 'capability.batch',
      path: ['kind'],
      message: `${caps.displayName} has no batch jobs${batchCaps.note === undefined ? '' : ` (${batchCaps.note})`}`,
    });
    return;
  }
  if (batch.engine !== undefined && !batchCaps.engines.includes(batch.engine)) {
    issues.push({
      severity: 'error',
      code: 'capability.batchEngine',
      path: ['spec', 'batch', 'engine'],
      message: `${caps.displayName} has no batch engine "${batch.engine}"`,
      hint: `engines: ${batchCaps.engines.join(', ')} (default ${batchCaps.defaultEngine})`,
    });
  }
  const format = batch.format ?? 'jsonl';
  if (!batchCaps.formats.includes(format)) {
    issues.push({
      severity: 'error',
      code: 'capability.batchFormat',
      path: ['spec', 'batch', 'format'],
      message: `${caps.displayName} batch jobs cannot read ${format}`,
      hint: `formats: ${batchCaps.formats.join(', ')}`,
    });
  }
  if (batch.schedule !== undefined) {
    const cronError = validateCron(batch.schedule);
    if (cronError !== undefined) {
      issues.push({
        severity: 'error',
        code: 'semantic.cron',
        path: ['spec', 'batch', 'schedule'],
        message: `schedule "${batch.schedule}" is not a valid cron expression: ${cronError}`,
        hint: 'use 5 fields: minute hour day-of-month month day-of-week, e.g. "0 3 * * *" for 03:00 UTC daily',
      });
    } else if (!batchCaps.schedule) {
      issues.push({
        severity: 'error',
        code: 'capability.schedule',
        path: ['spec', 'batch', 'schedule'],
        message: `${caps.displayName} cannot run batch jobs on a schedule`,
        hint: 'remove schedule and run the job from your own scheduler with `modelport apply`',
      });
    }
  }
  if (batch.trigger?.onNewInput === true && !batchCaps.triggerOnNewInput) {
    issues.push({
      severity: 'error',
      code: 'capability.trigger',
      path: ['spec', 'batch', 'trigger', 'onNewInput'],
      message: `${caps.displayName} cannot start batch jobs when new input arrives`,
      hint: 'remove trigger.onNewInput',
    });
  }
  if (
    batch.miniBatchMB !== undefined &&
    batchCaps.maxMiniBatchMB !== undefined &&
    batch.miniBatchMB > batchCaps.maxMiniBatchMB
  ) {
    issues.push({
      severity: 'error',
      code: 'capability.miniBatch',
      path: ['spec', 'batch', 'miniBatchMB'],
      message: `miniBatchMB ${batch.miniBatchMB} is above the ${batchCaps.maxMiniBatchMB} MB ${caps.displayName} accepts`,
      hint: `lower it to ${batchCaps.maxMiniBatchMB} or less`,
    });
  }
}

function attachesNoAccelerator(caps: Capabilities): boolean {
  return Object.values(caps.endpoint).every((mode) => mode.accelerators.length === 0);
}

/** The portable serving image (`modelport package --format oci` + `modelport image push`), by repository name. */
const PORTABLE_IMAGE = /(^|\/)modelport-serving(:|@|$)/;

/**
 * Providers that serve an ONNX model without spec.model.image with the portable serving image (SageMaker,
 * Azure ML and Vertex AI pull it from the account's registry). Not local (the runtime runs in process, on CPU,
 * and its capabilities attach no accelerator) nor KServe (without an image a ServingRuntime of the cluster
 * loads the model).
 */
const PORTABLE_IMAGE_BY_DEFAULT: ReadonlySet<string> = new Set(['aws', 'azure', 'gcp']);

/**
 * GPUs asked of the portable serving image would be billed and idle. An error when the image is implied (ONNX
 * without spec.model.image on a cloud), a warning when spec.model.image names it (it might be a GPU build
 * someone pushed under that name). Accelerators the target cannot attach are already an error.
 */
function checkPortableImageGpus(
  manifest: EndpointManifest | BatchJobManifest,
  caps: Capabilities,
  issues: SemanticIssue[],
): void {
  const { model, compute } = manifest.spec;
  if (compute === undefined) return;
  const image = model.image;
  const kserveRuntime =
    caps.provider === 'kserve' &&
    (manifest.spec.extensions as Record<string, Record<string, unknown> | undefined> | undefined)?.[
      'kserve'
    ]?.['runtime'] !== undefined;
  const implied =
    image === undefined && model.format === 'onnx' && PORTABLE_IMAGE_BY_DEFAULT.has(caps.provider);
  const named = image !== undefined && PORTABLE_IMAGE.test(image) && !kserveRuntime;
  if (!implied && !named) return;

  const severity = implied ? 'error' : 'warning';
  const cpuOnly = "which runs on CPU only (onnxruntime's CPU execution provider, no CUDA build)";
  const which = implied
    ? `without spec.model.image, ${caps.displayName} serves ONNX with the portable serving image, ${cpuOnly}`
    : `${image ?? ''} is the portable serving image, ${cpuOnly}`;
  const accelerator = compute.accelerator;
  const mode = manifest.kind === 'Endpoint' ? caps.endpoint[manifest.spec.mode ?? 'realtime'] : undefined;
  if (accelerator !== undefined && (mode === undefined || mode.accelerators.includes(accelerator.type))) {
    if (mode === undefined && attachesNoAccelerator(caps)) return; // checkBatch said so
    const count = accelerator.count ?? 1;
    issues.push({
      severity,
      code: 'capability.cpuOnlyImage',
      path: ['spec', 'compute', 'accelerator'],
      atKey: true,
      message: `${which}: the ${count}× ${accelerator.type} GPU${count === 1 ? '' : 's'} would be billed and sit idle`,
      hint: 'set spec.model.image to a GPU-capable serving image, or remove compute.accelerator',
    });
    return;
  }
  const instanceType = compute.instanceType;
  const gpus =
    instanceType === undefined
      ? undefined
      : caps.instances?.find((t) => t.name === instanceType)?.accelerator;
  if (instanceType !== undefined && gpus !== undefined) {
    issues.push({
      severity,
      code: 'capability.cpuOnlyImage',
      path: ['spec', 'compute', 'instanceType'],
      message: `${which}: the ${gpus.count}× ${gpus.type} GPU${gpus.count === 1 ? '' : 's'} of ${instanceType} would be billed and sit idle`,
      hint: 'set spec.model.image to a GPU-capable serving image, or choose an instance type without GPUs',
    });
  }
}
