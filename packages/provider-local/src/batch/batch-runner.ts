import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadedManifest, PlanAction, ProviderContext } from '@modelport/core';
import { DeploymentState, isBatchJob, ModelportError } from '@modelport/core';
import { OnnxModel, runBatchFiles } from '@modelport/runtime';
import { localModelPath, resolveFromManifest, sha256File } from '../paths.js';
import type { DeploymentRow, StateStore } from '../state/state-store.js';
import { processAlive } from '../process-alive.js';

const CHECKPOINT = '.modelport-batch.json';

/**
 * Local BatchJob: applying runs the job in the foreground over local files. A run that was killed shows
 * as `stopped`; the next apply plans a replace and the runtime resumes from its checkpoint, so every input
 * row still gives exactly one output row. A changed spec starts over.
 */
export class BatchRunner {
  async properties(manifest: LoadedManifest): Promise<Record<string, unknown>> {
    if (!isBatchJob(manifest)) throw new Error('not a batch job');
    const batch = manifest.manifest.spec.batch;
    const modelPath = localModelPath(manifest);
    return {
      model: { path: modelPath, sha256: await sha256File(modelPath) },
      input: resolveFromManifest(manifest, batch.input),
      output: resolveFromManifest(manifest, batch.output),
      miniBatchSize: batch.miniBatchSize ?? 1024,
      errorThreshold: batch.errorThreshold ?? -1,
    };
  }

  async run(
    store: StateStore,
    manifest: LoadedManifest,
    action: PlanAction,
    ctx: ProviderContext,
  ): Promise<void> {
    const properties = action.desired?.properties ?? {};
    const input = String(properties['input']);
    const output = String(properties['output']);
    const sameSpec = action.observed?.specHash === action.specHash;
    if (action.kind === 'replace' && !sameSpec) {
      // Different job: the old checkpoint must not be continued.
      await rm(join(output, CHECKPOINT), { force: true });
    }
    const kind = manifest.manifest.kind;
    store.put({
      kind,
      name: action.name,
      type: action.type,
      specHash: action.specHash,
      properties,
      state: 'running',
      pid: process.pid,
      port: null,
      generation: 1,
      activeGeneration: 1,
      message: null,
    });
    const model = await OnnxModel.load(String((properties['model'] as { path: string }).path), {
      name: action.name,
    });
    try {
      const threshold = Number(properties['errorThreshold']);
      const result = await runBatchFiles({
        model,
        input,
        output,
        batchSize: Number(properties['miniBatchSize']),
        ...(threshold > 0 ? { errorThreshold: threshold } : {}),
        signal: ctx.signal,
        onProgress: (p) =>
          ctx.progress(
            `${p.file}: ${p.rowsDone} rows, ${p.errors} bad`,
            p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : undefined,
          ),
      });
      store.put({
        kind,
        name: action.name,
        type: action.type,
        specHash: action.specHash,
        properties: {
          ...properties,
          progress: {
            rows: result.rows,
            badRecords: result.errors,
            files: result.files.length,
            resumed: result.resumed,
          },
        },
        state: 'succeeded',
        pid: null,
        port: null,
        generation: 1,
        activeGeneration: 1,
        message: `${result.rows} rows predicted, ${result.errors} bad records${result.errors > 0 ? ' (see *.errors.jsonl in the output folder)' : ''}`,
      });
      ctx.progress(`done: ${result.rows} rows, ${result.errors} bad records → ${output}`, 1);
    } catch (error) {
      store.update(kind, action.name, { state: 'failed', pid: null, message: (error as Error).message });
      throw new ModelportError(
        ctx.signal.aborted ? 'timeout' : 'invalidInput',
        `batch job ${action.name} failed: ${(error as Error).message}`,
        {
          retryable: false,
          cause: error,
          hint: 'fix the cause and apply again: the job resumes where it stopped',
        },
      );
    } finally {
      await model.close();
    }
  }

  liveState(row: DeploymentRow): DeploymentState {
    if (row.state === 'succeeded') return DeploymentState.Succeeded;
    if (row.state === 'failed') return DeploymentState.Failed;
    if (row.pid !== null && processAlive(row.pid)) return DeploymentState.Running;
    return DeploymentState.Stopped; // killed mid-run: the next apply resumes it
  }
}
