import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ParityOptions, ParityResult, Payload } from '../compare/parity.js';
import { runParity } from '../compare/parity.js';
import type { ActionRunContext, EngineOptions } from '../engine/engine.js';
import { runPlan } from '../engine/engine.js';
import type { ApplyResult, EngineEvent, EventListener } from '../engine/events.js';
import { effectiveMaxPayloadMB } from '../capabilities.js';
import { ModelportError } from '../errors.js';
import type { Diagnostic } from '../manifest/diagnostics.js';
import { formatDiagnostic, hasErrors } from '../manifest/diagnostics.js';
import type { LoadResult } from '../manifest/loader.js';
import { readManifestFile, referencedProviders, validateDocuments } from '../manifest/loader.js';
import type { ModelFileOptions } from '../manifest/model-file.js';
import type { LoadedManifest } from '../manifest/types.js';
import { endpointMode, isBatchJob, isEndpoint } from '../manifest/types.js';
import type { Plan } from '../plan/model.js';
import { computePlan } from '../plan/planner.js';
import type {
  AsyncHandle,
  AsyncInvokeRequest,
  AsyncResult,
  DeploymentProvider,
  DeploymentStatus,
  DeploymentSummary,
  EndpointProvider,
  InvokeRequest,
  InvokeResponse,
  ListOptions,
  ProviderContext,
} from '../ports/provider.js';
import type { ProviderRegistry } from '../registry/provider-registry.js';
import type { MigrateOptions, MigrationResult } from '../migrate/translate.js';
import { translateManifest } from '../migrate/translate.js';

export interface ModelportOptions {
  registry: ProviderRegistry;
  onEvent?: EventListener;
  engine?: Omit<EngineOptions, 'onEvent' | 'signal'>;
  signal?: AbortSignal;
}

/** A manifest file path, or manifests already loaded. */
export type ManifestInput = string | LoadedManifest | readonly LoadedManifest[];

export interface SelectOptions {
  /** Pick one document of a multi-document file by metadata.name. */
  name?: string;
}

export interface ValidateOptions {
  /**
   * The check of a local spec.model.uri: by default it must name an existing file or folder; `{ content:
   * true }` also refuses an ONNX file that cannot be a model (`modelport validate`); false skips it (what
   * destroy and status need: a deployment can be removed after its model file is gone).
   */
  modelFiles?: ModelFileOptions | false;
}

export interface ApplyOptions extends SelectOptions {
  /** Called with the plans before anything is written; return false to stop (the CLI's confirmation). */
  approve?: (plans: readonly Plan[]) => Promise<boolean>;
}

export interface ApplyOutcome {
  plan: Plan;
  result: ApplyResult;
}

const MIB = 1024 * 1024;

/** Removing, observing and calling a deployment need no model file on this machine. */
const NO_MODEL_FILE_CHECK: ValidateOptions = { modelFiles: false };

/**
 * The typed programmatic API; the `modelport` CLI is a thin shell over it. Everything is driven by
 * manifests: plan reads live state and diffs it, apply runs the plan through the engine.
 */
export class Modelport {
  private readonly registry: ProviderRegistry;
  private readonly emit: EventListener;
  private readonly signal: AbortSignal;

  constructor(private readonly options: ModelportOptions) {
    this.registry = options.registry;
    this.emit = options.onEvent ?? (() => undefined);
    this.signal = options.signal ?? new AbortController().signal;
  }

  /**
   * Parses and validates a manifest file (both layers, and that a local model file exists); never throws
   * for bad input, it reports it.
   */
  async validate(file: string, options: ValidateOptions = {}): Promise<LoadResult> {
    const read = await readManifestFile(file);
    if ('diagnostics' in read) return { manifests: [], diagnostics: read.diagnostics };
    const installed = new Set(this.registry.ids());
    await this.registry.loadCapabilities(
      referencedProviders(read.documents).filter((id) => installed.has(id)),
    );
    const modelFiles = options.modelFiles === false ? undefined : (options.modelFiles ?? {});
    return validateDocuments(
      read.documents,
      { file: read.file, baseDir: dirname(read.file), ...(modelFiles === undefined ? {} : { modelFiles }) },
      {
        installedProviders: this.registry.ids(),
        capabilitiesOf: (id) => this.registry.capabilitiesOf(id),
        problemOf: (id) => this.registry.problemOf(id),
      },
    );
  }

  /**
   * Translates a manifest file to another provider (nothing is deployed): the text to write, with the
   * input's comments and key order, and a report of every field.
   */
  async migrate(
    file: string,
    options: Omit<MigrateOptions, 'capabilitiesOf' | 'installedProviders' | 'sourceFile'>,
  ): Promise<MigrationResult> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new ModelportError('invalidInput', `cannot read ${file}: ${(error as Error).message}`);
    }
    await this.registry.loadCapabilities();
    return translateManifest(text, {
      ...options,
      sourceFile: file,
      installedProviders: this.registry.ids(),
      capabilitiesOf: (id) => this.registry.capabilitiesOf(id),
    });
  }

  /**
   * Parity of two deployed endpoints: the same payloads to both, answers compared (labels exactly,
   * scores within a tolerance), latency measured for each.
   */
  async compare(
    a: ManifestInput,
    b: ManifestInput,
    payloads: readonly Payload[],
    options: ParityOptions & { select?: { a?: SelectOptions; b?: SelectOptions } } = {},
  ): Promise<ParityResult> {
    const side = async (input: ManifestInput, select: SelectOptions = {}) => {
      const manifest = await this.one(input, select, 'Endpoint');
      return {
        label: typeof input === 'string' ? input : manifest.file,
        provider: manifest.provider,
        name: manifest.manifest.metadata.name,
        invoke: (body: Uint8Array) => this.invoke(manifest, { body, contentType: 'application/json' }),
      };
    };
    const [left, right] = [await side(a, options.select?.a), await side(b, options.select?.b)];
    return runParity(left, right, payloads, { signal: this.signal, ...options });
  }

  /** Loads manifests, throwing one invalidInput error that lists every problem. */
  async load(
    input: ManifestInput,
    select: SelectOptions = {},
    options: ValidateOptions = {},
  ): Promise<LoadedManifest[]> {
    let manifests: LoadedManifest[];
    if (typeof input === 'string') {
      const result = await this.validate(input, options);
      if (hasErrors(result.diagnostics)) throw invalidManifest(result.diagnostics);
      manifests = result.manifests;
    } else {
      manifests = Array.isArray(input)
        ? [...(input as readonly LoadedManifest[])]
        : [input as LoadedManifest];
    }
    if (select.name !== undefined) {
      const chosen = manifests.filter((m) => m.manifest.metadata.name === select.name);
      if (chosen.length === 0) {
        throw new ModelportError('notFound', `no manifest named "${select.name}"`, {
          hint: `names in this file: ${manifests.map((m) => m.manifest.metadata.name).join(', ')}`,
        });
      }
      return chosen;
    }
    return manifests;
  }

  async plan(input: ManifestInput, select: SelectOptions = {}): Promise<Plan[]> {
    const manifests = await this.load(input, select);
    return Promise.all(manifests.map((m) => this.planOne(m, 'apply')));
  }

  /** The documents apply would write, for providers that render declarative resources (KServe). */
  async render(input: ManifestInput, select: SelectOptions = {}): Promise<unknown[]> {
    const manifests = await this.load(input, select);
    const documents = await Promise.all(
      manifests.map(async (m) => {
        const provider = await this.providerFor(m);
        if (provider.render === undefined) {
          throw new ModelportError(
            'capability',
            `provider ${m.provider} has no declarative resources to print`,
            {
              hint: 'rendered output is for Kubernetes targets (kserve); use --output json for the plan of others',
            },
          );
        }
        return provider.render(m);
      }),
    );
    return documents.flat();
  }

  async apply(input: ManifestInput, options: ApplyOptions = {}): Promise<ApplyOutcome[]> {
    const manifests = await this.load(input, options);
    const plans = await Promise.all(manifests.map((m) => this.planOne(m, 'apply')));
    return this.run(manifests, plans, options);
  }

  async planDestroy(input: ManifestInput, select: SelectOptions = {}): Promise<Plan[]> {
    const manifests = await this.load(input, select, NO_MODEL_FILE_CHECK);
    return Promise.all(manifests.map((m) => this.planOne(m, 'destroy')));
  }

  async destroy(input: ManifestInput, options: ApplyOptions = {}): Promise<ApplyOutcome[]> {
    const manifests = await this.load(input, options, NO_MODEL_FILE_CHECK);
    // Tear down in reverse file order: later documents may depend on earlier ones.
    const reversed = [...manifests].reverse();
    const plans = await Promise.all(reversed.map((m) => this.planOne(m, 'destroy')));
    return this.run(reversed, plans, options);
  }

  async status(input: ManifestInput, select: SelectOptions = {}): Promise<DeploymentStatus[]> {
    const manifests = await this.load(input, select, NO_MODEL_FILE_CHECK);
    return Promise.all(
      manifests.map(async (m) =>
        (await this.providerFor(m)).status(m, this.context(`status ${m.manifest.metadata.name}`)),
      ),
    );
  }

  /**
   * Deployments managed by modelport on one provider (local by default: listing a cloud needs its region
   * and credentials, and loads its SDK).
   */
  async list(options: ListOptions & { provider?: string } = {}): Promise<DeploymentSummary[]> {
    const ids = options.provider === undefined ? ['local'] : [options.provider];
    const all = await Promise.all(
      ids.map(async (id) => {
        const providers: DeploymentProvider[] = [await this.registry.endpointProvider(id)];
        const batch = await this.registry.batchProvider(id).catch(() => undefined);
        if (batch !== undefined && !providers.includes(batch)) providers.push(batch);
        const lists = await Promise.all(providers.map((p) => p.list(options, this.context(`list ${id}`))));
        return lists.flat();
      }),
    );
    return all.flat();
  }

  async invoke(
    input: ManifestInput,
    request: InvokeRequest,
    select: SelectOptions = {},
  ): Promise<InvokeResponse> {
    const manifest = await this.one(input, select, 'Endpoint');
    const provider = await this.registry.endpointProvider(manifest.provider);
    this.checkPayload(manifest, provider, request.body.byteLength);
    return provider.invoke(manifest, request, this.context(`invoke ${manifest.manifest.metadata.name}`));
  }

  async invokeAsync(
    input: ManifestInput,
    request: AsyncInvokeRequest,
    select: SelectOptions = {},
  ): Promise<AsyncHandle> {
    const manifest = await this.one(input, select, 'Endpoint');
    const provider = await this.registry.endpointProvider(manifest.provider);
    if (
      provider.invokeAsync === undefined ||
      !isEndpoint(manifest) ||
      endpointMode(manifest.manifest) !== 'async'
    ) {
      throw new ModelportError('capability', `${manifest.manifest.metadata.name} is not an async endpoint`, {
        hint: 'set spec.mode: async to queue requests, or call invoke without --async',
      });
    }
    return provider.invokeAsync(
      manifest,
      request,
      this.context(`invoke-async ${manifest.manifest.metadata.name}`),
    );
  }

  /** The result of an async request, from its id alone (`<provider>/<deployment>/<request>`). */
  async asyncResult(id: string, input?: ManifestInput, select: SelectOptions = {}): Promise<AsyncResult> {
    const [providerId, deployment, request] = id.split('/');
    if (providerId === undefined || deployment === undefined || request === undefined || request === '') {
      throw new ModelportError('invalidInput', `"${id}" is not an async request id`, {
        hint: 'ids look like <provider>/<deployment>/<request>, as printed by `modelport invoke --async`',
      });
    }
    const manifest = input === undefined ? undefined : await this.one(input, select, 'Endpoint');
    const provider = await this.registry.endpointProvider(providerId);
    if (provider.asyncResult === undefined) {
      throw new ModelportError('capability', `provider ${providerId} has no async requests`);
    }
    return provider.asyncResult(id, this.context(`result ${id}`), manifest);
  }

  private async one(input: ManifestInput, select: SelectOptions, kind: 'Endpoint'): Promise<LoadedManifest> {
    // Calling a deployed endpoint needs no model file here.
    const manifests = (await this.load(input, select, NO_MODEL_FILE_CHECK)).filter(
      (m) => m.manifest.kind === kind,
    );
    const [first, second] = manifests;
    if (first === undefined) {
      throw new ModelportError('invalidInput', `the manifest holds no ${kind}`, {
        hint: `invoke needs a ${kind}`,
      });
    }
    if (second !== undefined) {
      throw new ModelportError('invalidInput', `the manifest holds ${manifests.length} ${kind}s`, {
        hint: `choose one with --name (${manifests.map((m) => m.manifest.metadata.name).join(', ')})`,
      });
    }
    return first;
  }

  /** Refuses a payload the target would refuse, before sending it (the error suggests async). */
  private checkPayload(manifest: LoadedManifest, provider: EndpointProvider, bytes: number): void {
    if (!isEndpoint(manifest)) return;
    const mode = endpointMode(manifest.manifest);
    const own = (
      manifest.manifest.spec.extensions as Record<string, Record<string, unknown> | undefined> | undefined
    )?.[provider.capabilities.provider];
    const declared = effectiveMaxPayloadMB(provider.capabilities.endpoint[mode], own);
    const limitMB = Math.min(manifest.manifest.spec.limits?.payloadMB ?? declared, declared);
    if (bytes > limitMB * MIB) {
      throw new ModelportError(
        'invalidInput',
        `the payload is ${(bytes / MIB).toFixed(2)} MB, above the ${limitMB} MB limit of ${provider.capabilities.displayName} ${mode} endpoints`,
        {
          hint:
            mode === 'async'
              ? 'split the payload'
              : 'send it to an async endpoint (spec.mode: async, up to 1 GB) or run a BatchJob over files',
          details: { bytes, limitBytes: limitMB * MIB },
        },
      );
    }
  }

  private async providerFor(manifest: LoadedManifest): Promise<DeploymentProvider> {
    if (isEndpoint(manifest)) return this.registry.endpointProvider(manifest.provider);
    if (isBatchJob(manifest)) return this.registry.batchProvider(manifest.provider);
    throw new ModelportError('invalidInput', `${manifest.manifest.kind} is not deployed with apply`, {
      hint: 'build edge bundles with `modelport package <manifest>`',
    });
  }

  private async planOne(manifest: LoadedManifest, intent: 'apply' | 'destroy'): Promise<Plan> {
    const provider = await this.providerFor(manifest);
    const ctx = this.context(`plan ${manifest.manifest.metadata.name}`);
    const [desired, observed] = await Promise.all([
      intent === 'apply' ? provider.desired(manifest, ctx) : Promise.resolve([]),
      provider.observe(manifest, ctx),
    ]);
    return computePlan({
      kind: manifest.manifest.kind,
      name: manifest.manifest.metadata.name,
      provider: manifest.provider,
      specHash: manifest.specHash,
      desired,
      observed,
      // Capability notes found while loading (emulated modes, unused extensions) are shown with the plan.
      diagnostics: manifest.warnings,
    });
  }

  private async run(
    manifests: LoadedManifest[],
    plans: Plan[],
    options: ApplyOptions,
  ): Promise<ApplyOutcome[]> {
    if (options.approve !== undefined && plans.some((p) => p.actions.some((a) => a.kind !== 'noop'))) {
      if (!(await options.approve(plans))) {
        throw new ModelportError('invalidInput', 'cancelled: the plan was not approved', {
          retryable: false,
        });
      }
    }
    const outcomes: ApplyOutcome[] = [];
    // Documents of one file apply in order: a later one may rely on an earlier one.
    for (const [index, plan] of plans.entries()) {
      const manifest = manifests[index];
      if (manifest === undefined) continue;
      const provider = await this.providerFor(manifest);
      const result = await runPlan(
        plan,
        (action, run: ActionRunContext) =>
          provider.execute(action, manifest, {
            signal: run.signal,
            progress: (message, fraction) =>
              this.emit({
                type: 'action.progress',
                action,
                message,
                ...(fraction === undefined ? {} : { fraction }),
              }),
            log: (level, message, fields) =>
              this.emit({ type: 'log', level, message, ...(fields === undefined ? {} : { fields }) }),
          }),
        { ...this.options.engine, onEvent: this.emit, signal: this.signal },
      );
      outcomes.push({ plan, result });
      if (!result.ok) break;
    }
    return outcomes;
  }

  private context(label: string): ProviderContext {
    return {
      signal: this.signal,
      progress: (message) => this.emit({ type: 'log', level: 'info', message: `${label}: ${message}` }),
      log: (level, message, fields) =>
        this.emit({
          type: 'log',
          level,
          message,
          ...(fields === undefined ? {} : { fields }),
        } satisfies EngineEvent),
    };
  }
}

function invalidManifest(diagnostics: readonly Diagnostic[]): ModelportError {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  return new ModelportError(
    'invalidInput',
    `the manifest has ${errors.length} error${errors.length === 1 ? '' : 's'}:\n${errors.map(formatDiagnostic).join('\n')}`,
    { details: { diagnostics: errors } },
  );
}
