// Azure ML command jobs (`jobType: Command`, api-version 2022-10-01): the environment's image runs the
// job's command to completion on the compute, with its inputs mounted from the workspace datastore and its
// outputs written back; the job's status follows the command's exit code. Sources beside each rule.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';
import type { ArmResource } from './azure-emulator.js';
import type { BlobRest } from './blob-rest.js';
import type { ImageRegistry, RunningContainer } from '../shared/containers.js';
import { logTail, startContainer } from '../shared/containers.js';

/**
 * Where a job's data is mounted in its container. [approximate] Azure ML's data capability mounts inputs and
 * outputs under a per-job working folder (`/mnt/azureml/cr/j/<job id>/cap/data-capability/wd/<name>`, as job
 * logs show); jobs are not meant to rely on the path but on `${{inputs.<name>}}` / `${{outputs.<name>}}`,
 * which the service replaces in the command (https://learn.microsoft.com/azure/machine-learning/how-to-read-write-data-v2).
 */
export const JOB_MOUNT_ROOT = '/mnt/azureml/cr/j';

/**
 * The output location Azure ML picks when a job output has no `uri`:
 * `azureml://datastores/${{default_datastore}}/paths/azureml/${{name}}/${{output_name}}/`
 * (https://learn.microsoft.com/azure/machine-learning/how-to-read-write-data-v2, default output path).
 */
export function defaultOutputUri(datastore: string, job: string, output: string): string {
  return `azureml://datastores/${datastore}/paths/azureml/${job}/${output}/`;
}

export interface CommandJobOptions {
  images: ImageRegistry;
  blobs: () => BlobRest;
  resource: (id: string) => ArmResource | undefined;
  datastorePath: (uri: string) => { container: string; path: string } | undefined;
  defaultDatastore: string;
  workDir: () => string;
  /** An injected failure for this job (faults.failJob), instead of running it. */
  takeFailure: (job: ArmResource) => string | undefined;
}

interface Binding {
  name: string;
  kind: 'input' | 'output';
  type: string;
  uri: string;
  /** Container path. */
  at: string;
  /** Host folder (or the folder of a single file). */
  host: string;
}

/**
 * Runs command jobs: Starting → Running → Completed | Failed. What the emulator does, as Azure ML does:
 * - the environment version's `image` (a reference missing from the registry fails the job);
 * - the job's `command`, with `${{inputs.<name>}}` and `${{outputs.<name>}}` replaced by the mounted paths
 *   ("command: The command to execute on startup of the job", CommandJob in the 2022-10-01 spec;
 *   https://learn.microsoft.com/azure/machine-learning/reference-yaml-job-command). It replaces the image's
 *   ENTRYPOINT: Azure ML starts the job container and executes the command in it (`docker exec … bash -c
 *   <command>` in the job logs of Azure/azureml-previews#229).
 *   Stand-in: the command is split into words and run directly, not through bash (the test image's base
 *   layer is the host's, so a missing shell in the real image would go unseen either way: see the report);
 * - `uri_folder` / `uri_file` inputs in the workspace datastore are copied into the container (ReadOnlyMount,
 *   Download), `uri_folder` outputs are folders whose content is uploaded to the output `uri` (or the default
 *   output path) when the command exits (ReadWriteMount, Upload);
 * - `environmentVariables` are passed;
 * - exit code 0 → Completed, else Failed with the exit code and the last log lines
 *   ("Execution failed. User process '<process>' exited with status code <n>", what Azure ML reports).
 * Not modelled: the compute (computeId is not checked), limits.timeout, queueing, distribution.
 */
export class CommandJobs {
  private readonly running = new Map<string, { container?: RunningContainer; done: Promise<void> }>();

  constructor(private readonly options: CommandJobOptions) {}

  /** Resolves once no job is running. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  /** Stops every running job (the emulator stops). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => r.container?.stop(1_000)));
    await this.idle();
  }

  /** Cancels a job's container (its job was deleted). */
  async cancel(jobId: string): Promise<void> {
    await this.running.get(jobId.toLowerCase())?.container?.stop(1_000);
  }

  /** Starts a stored command job in the background. */
  start(job: ArmResource): void {
    const key = job.id.toLowerCase();
    const entry: { container?: RunningContainer; done: Promise<void> } = { done: Promise.resolve() };
    entry.done = this.run(job, entry)
      .catch((error: unknown) => this.fail(job, 'SystemError', (error as Error).message))
      .finally(() => this.running.delete(key));
    this.running.set(key, entry);
  }

  private props(job: ArmResource): Record<string, unknown> {
    return job.body['properties'] as Record<string, unknown>;
  }

  private fail(job: ArmResource, code: string, message: string): void {
    const props = this.props(job);
    props['status'] = 'Failed';
    props['error'] = { code, message };
  }

  private async run(job: ArmResource, entry: { container?: RunningContainer }): Promise<void> {
    const props = this.props(job);
    const injected = this.options.takeFailure(job);
    if (injected !== undefined) {
      const match = /^([A-Z][A-Za-z]+): (.*)$/s.exec(injected);
      this.fail(job, match?.[1] ?? 'UserError', match?.[2] ?? injected);
      return;
    }
    const environment = this.options.resource(String(props['environmentId'] ?? ''));
    if (environment === undefined) {
      this.fail(job, 'UserError', `The environment ${String(props['environmentId'])} does not exist.`);
      return;
    }
    const reference = String((environment.body['properties'] as Record<string, unknown>)['image'] ?? '');
    const image = this.options.images.get(reference);
    if (image === undefined) {
      // [guess] the code and wording of a failed pull on a compute cluster.
      this.fail(
        job,
        'UserError',
        `Unable to pull the image ${reference || '(none)'}: not found in the registry.`,
      );
      return;
    }
    const dir = join(this.options.workDir(), 'jobs', job.name);
    const wd = `${JOB_MOUNT_ROOT}/${job.name}/cap/data-capability/wd`;
    const bindings: Binding[] = [];
    try {
      for (const [name, input] of Object.entries(
        (props['inputs'] ?? {}) as Record<string, Record<string, unknown>>,
      )) {
        bindings.push(await this.download(name, input, `${wd}/INPUT_${name}`, join(dir, 'inputs', name)));
      }
      for (const [name, output] of Object.entries(
        (props['outputs'] ?? {}) as Record<string, Record<string, unknown>>,
      )) {
        const type = String(output['jobOutputType'] ?? 'uri_folder');
        if (type !== 'uri_folder')
          throw new Error(`the emulator writes uri_folder outputs only (${name} is ${type})`);
        const uri =
          typeof output['uri'] === 'string' && output['uri'] !== ''
            ? output['uri']
            : defaultOutputUri(this.options.defaultDatastore, job.name, name);
        output['uri'] = uri;
        const host = join(dir, 'outputs', name);
        await mkdir(host, { recursive: true });
        bindings.push({ name, kind: 'output', type, uri, at: `${wd}/${name}`, host });
      }
    } catch (error) {
      this.fail(job, 'UserError', `Data capability failed: ${(error as Error).message}`);
      return;
    }
    const command = substitute(String(props['command'] ?? ''), bindings);
    if (!command.ok) {
      this.fail(job, 'UserError', command.reason);
      return;
    }
    const argv = words(command.text);
    props['status'] = 'Running';
    const mounts: Record<string, string> = {};
    for (const b of bindings) mounts[b.at] = b.host;
    const container = await startContainer({
      image,
      name: job.name,
      workDir: join(dir, 'container'),
      command: argv,
      env: { ...((props['environmentVariables'] ?? {}) as Record<string, string>), AZUREML_RUN_ID: job.name },
      mounts,
    });
    entry.container = container;
    const exit = await container.exited;
    props['status'] = 'Finalizing';
    for (const b of bindings) if (b.kind === 'output') await this.upload(b);
    if (exit.code === 0) {
      props['status'] = 'Completed';
    } else {
      this.fail(
        job,
        'UserError',
        `Execution failed. User process '${argv[0] ?? ''}' exited with status code ${exit.code ?? exit.signal ?? '?'}. Last log lines:\n${logTail(container, 20)}`,
      );
    }
    await rm(join(dir, 'inputs'), { recursive: true, force: true }).catch(() => undefined);
  }

  private async download(
    name: string,
    input: Record<string, unknown>,
    at: string,
    host: string,
  ): Promise<Binding> {
    const type = String(input['jobInputType'] ?? '');
    const uri = String(input['uri'] ?? '');
    if (type !== 'uri_folder' && type !== 'uri_file') {
      throw new Error(
        `the emulator mounts uri_folder and uri_file inputs only (${name} is ${type || 'untyped'})`,
      );
    }
    const location = this.options.datastorePath(uri);
    if (location === undefined) throw new Error(`input ${name}: ${uri} is not in the workspace datastore`);
    const blobs = this.options.blobs();
    await mkdir(host, { recursive: true });
    if (type === 'uri_file') {
      const data = await blobs.get(location.container, location.path);
      if (data === undefined) throw new Error(`input ${name}: no blob at ${uri}`);
      const file = posix.basename(location.path);
      await writeFile(join(host, file), data);
      // A uri_file input is the file itself.
      return { name, kind: 'input', type, uri, at: `${at}/${file}`, host: join(host, file) };
    }
    const prefix = location.path.replace(/\/?$/, '/');
    const names = (await blobs.list(location.container, prefix)).filter((n) => !n.endsWith('/'));
    if (names.length === 0) throw new Error(`input ${name}: no blobs under ${uri}`);
    for (const blob of names) {
      const data = await blobs.get(location.container, blob);
      if (data === undefined) continue;
      const target = join(host, ...blob.slice(prefix.length).split('/'));
      await mkdir(join(target, '..'), { recursive: true });
      await writeFile(target, data);
    }
    return { name, kind: 'input', type, uri, at, host };
  }

  private async upload(b: Binding): Promise<void> {
    const location = this.options.datastorePath(b.uri);
    if (location === undefined) return;
    const blobs = this.options.blobs();
    const prefix = location.path.replace(/\/?$/, '/');
    for (const file of await files(b.host)) {
      const name = relative(b.host, file).split('\\').join('/');
      await blobs.put(
        location.container,
        `${prefix}${name}`,
        await readFile(file),
        'application/octet-stream',
      );
    }
  }
}

/** `${{inputs.x}}` / `${{outputs.y}}` → the mounted paths; an unknown binding is an error, as in Azure ML. */
function substitute(
  command: string,
  bindings: Binding[],
): { ok: true; text: string } | { ok: false; reason: string } {
  let missing: string | undefined;
  const text = command.replace(
    /\$\{\{\s*(inputs|outputs)\.([A-Za-z0-9_]+)\s*\}\}/g,
    (all, kind: string, name: string) => {
      const found = bindings.find(
        (b) => b.kind === (kind === 'inputs' ? 'input' : 'output') && b.name === name,
      );
      if (found === undefined) missing ??= all;
      return found?.at ?? all;
    },
  );
  if (missing !== undefined)
    return { ok: false, reason: `The command refers to ${missing}, which the job does not define.` };
  return { ok: true, text };
}

/** Splits a command line into words (whitespace, single and double quotes). */
export function words(command: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: string | undefined;
  let started = false;
  for (const ch of command) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) out.push(current);
      current = '';
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  if (started) out.push(current);
  return out;
}

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}
