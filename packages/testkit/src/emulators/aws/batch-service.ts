import { randomUUID } from 'node:crypto';
import type { Reply } from './aws-http.js';
import { AwsError, restJson } from './aws-http.js';
import type { CallContext } from './context.js';
import { ACCOUNT_ID, list, obj, str } from './context.js';
import type { Faults } from './faults.js';
import { scoreS3Files } from './file-scoring.js';
import type { ModelContainers } from './model-containers.js';
import type { S3Service } from './s3-service.js';
import type { Timers } from './timers.js';

export interface JobDefinition {
  name: string;
  revision: number;
  arn: string;
  status: 'ACTIVE' | 'INACTIVE';
  request: Record<string, unknown>;
}

export type BatchJobStatus =
  'SUBMITTED' | 'PENDING' | 'RUNNABLE' | 'STARTING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface BatchJob {
  id: string;
  arn: string;
  name: string;
  queue: string;
  definition: JobDefinition;
  status: BatchJobStatus;
  statusReason?: string;
  createdAt: number;
  startedAt?: number;
  stoppedAt?: number;
  request: Record<string, unknown>;
}

const ORDER: BatchJobStatus[] = ['SUBMITTED', 'RUNNABLE', 'STARTING', 'RUNNING'];

/**
 * AWS Batch (restJson1, `/v1/...`): job queues, versioned job definitions, jobs that walk SUBMITTED →
 * RUNNABLE → STARTING → RUNNING → SUCCEEDED/FAILED. A job of the modelport image (its environment names
 * the model and the S3 input and output) really scores the files, with the runtime.
 */
export class BatchService {
  readonly queues = new Map<string, { name: string; arn: string }>();
  readonly definitions: JobDefinition[] = [];
  readonly jobs = new Map<string, BatchJob>();
  readonly tags = new Map<string, Record<string, string>>();

  constructor(
    private readonly s3: S3Service,
    private readonly containers: ModelContainers,
    private readonly faults: Faults,
    private readonly timers: Timers,
    private readonly workDir: string,
  ) {}

  /** A job queue, as an administrator would have made it (modelport uses an existing queue). */
  createQueue(name: string, region = 'us-east-1'): string {
    const arn = `arn:aws:batch:${region}:${ACCOUNT_ID}:job-queue/${name}`;
    this.queues.set(name, { name, arn });
    return arn;
  }

  handle(ctx: CallContext): Reply {
    const input = ctx.input;
    switch (ctx.operation) {
      case 'DescribeJobQueues': {
        const wanted = list(input['jobQueues']).map(String);
        const queues = [...this.queues.values()].filter(
          (q) => wanted.length === 0 || wanted.includes(q.name) || wanted.includes(q.arn),
        );
        return restJson({
          jobQueues: queues.map((q) => ({
            jobQueueName: q.name,
            jobQueueArn: q.arn,
            state: 'ENABLED',
            status: 'VALID',
            priority: 1,
            computeEnvironmentOrder: [],
          })),
        });
      }
      case 'RegisterJobDefinition':
        return restJson(this.register(ctx.region, input));
      case 'DescribeJobDefinitions': {
        const names = list(input['jobDefinitions']).map(String);
        const found = this.definitions.filter(
          (d) =>
            (names.length === 0 ||
              names.includes(d.arn) ||
              names.includes(`${d.name}:${d.revision}`) ||
              names.includes(d.name)) &&
            (str(input, 'jobDefinitionName') === undefined || d.name === str(input, 'jobDefinitionName')) &&
            (str(input, 'status') === undefined || d.status === str(input, 'status')),
        );
        return restJson({ jobDefinitions: found.map((d) => this.renderDefinition(d)) });
      }
      case 'DeregisterJobDefinition': {
        const definition = this.definition(str(input, 'jobDefinition') ?? '');
        definition.status = 'INACTIVE';
        return restJson({});
      }
      case 'SubmitJob':
        return restJson(this.submit(ctx.region, input));
      case 'DescribeJobs': {
        const ids = list(input['jobs']).map(String);
        return restJson({
          jobs: ids.flatMap((id) =>
            this.jobs.has(id) ? [this.renderJob(this.jobs.get(id) as BatchJob)] : [],
          ),
        });
      }
      case 'ListJobs': {
        const queue = str(input, 'jobQueue');
        const filter = list(input['filters'])
          .map(obj)
          .find((f) => f['name'] === 'JOB_NAME');
        const pattern = filter === undefined ? undefined : String(list(filter['values'])[0] ?? '');
        const found = [...this.jobs.values()].filter(
          (j) =>
            (queue === undefined || j.queue === queue || this.queues.get(j.queue)?.arn === queue) &&
            (pattern === undefined ||
              (pattern.endsWith('*') ? j.name.startsWith(pattern.slice(0, -1)) : j.name === pattern)) &&
            (filter !== undefined || str(input, 'jobStatus') === undefined
              ? true
              : j.status === str(input, 'jobStatus')),
        );
        return restJson({
          jobSummaryList: found.map((j) => ({
            jobArn: j.arn,
            jobId: j.id,
            jobName: j.name,
            createdAt: j.createdAt,
            status: j.status,
            jobDefinition: j.definition.arn,
          })),
        });
      }
      case 'TerminateJob': {
        const job = this.jobs.get(str(input, 'jobId') ?? '');
        if (job === undefined) throw new AwsError('ClientException', `Job ${str(input, 'jobId')} not found`);
        if (job.status !== 'SUCCEEDED' && job.status !== 'FAILED')
          this.finish(job, 'FAILED', str(input, 'reason') ?? 'Terminated');
        return restJson({});
      }
      case 'ListTagsForResource':
        return restJson({ tags: this.tagsOf(decodeURIComponent(ctx.labels['resourceArn'] ?? '')) });
      case 'TagResource':
        Object.assign(this.tagsOf(decodeURIComponent(ctx.labels['resourceArn'] ?? '')), obj(input['tags']));
        return restJson({});
      case 'UntagResource': {
        const tags = this.tagsOf(decodeURIComponent(ctx.labels['resourceArn'] ?? ''));
        for (const key of ctx.query.getAll('tagKeys')) delete tags[key];
        return restJson({});
      }
      default:
        throw new AwsError('ClientException', `the emulator does not implement Batch ${ctx.operation}`);
    }
  }

  /** Submits a job as SubmitJob does (also called by EventBridge rules and Scheduler targets). */
  submit(region: string, input: Record<string, unknown>): { jobArn: string; jobName: string; jobId: string } {
    const queueRef = str(input, 'jobQueue') ?? '';
    const queue = [...this.queues.values()].find((q) => q.name === queueRef || q.arn === queueRef);
    if (queue === undefined) throw new AwsError('ClientException', `JobQueue ${queueRef} not found.`);
    const definition = this.definition(str(input, 'jobDefinition') ?? '');
    const id = randomUUID();
    const arn = `arn:aws:batch:${region}:${ACCOUNT_ID}:job/${id}`;
    const job: BatchJob = {
      id,
      arn,
      name: str(input, 'jobName') ?? '',
      queue: queue.name,
      definition,
      status: 'SUBMITTED',
      createdAt: Date.now(),
      request: input,
    };
    this.jobs.set(id, job);
    this.tags.set(
      arn,
      Object.fromEntries(Object.entries(obj(input['tags'])).map(([k, v]) => [k, String(v)])),
    );
    this.advance(job, 0);
    return { jobArn: arn, jobName: job.name, jobId: id };
  }

  private advance(job: BatchJob, step: number): void {
    this.timers.later(async () => {
      if (job.status === 'SUCCEEDED' || job.status === 'FAILED') return;
      const next = ORDER[step + 1];
      if (next !== undefined) {
        job.status = next;
        if (next === 'RUNNING') job.startedAt = Date.now();
        if (next === 'RUNNING') await this.run(job);
        else this.advance(job, step + 1);
      }
    });
  }

  private async run(job: BatchJob): Promise<void> {
    const failure = this.faults.takeJobFailure(job.name);
    if (failure !== undefined) {
      this.finish(job, 'FAILED', failure);
      return;
    }
    const container = obj(job.definition.request['containerProperties']);
    const env: Record<string, string> = {};
    for (const pair of [
      ...list(container['environment']),
      ...list(obj(job.request['containerOverrides'])['environment']),
    ].map(obj)) {
      env[String(pair['name'])] = String(pair['value']);
    }
    try {
      const modelUri = env['MODELPORT_MODEL_URI'];
      if (
        modelUri !== undefined &&
        env['MODELPORT_BATCH_INPUT'] !== undefined &&
        env['MODELPORT_BATCH_OUTPUT'] !== undefined
      ) {
        const model = await this.containers.model({
          environment: env,
          ...(modelUri.endsWith('.tar.gz') ? { modelDataUrl: modelUri } : { uncompressedUri: modelUri }),
        });
        await scoreS3Files(this.s3, model, {
          inputUri: env['MODELPORT_BATCH_INPUT'],
          outputUri: env['MODELPORT_BATCH_OUTPUT'],
          format: env['MODELPORT_BATCH_FORMAT'] === 'csv' ? 'csv' : 'jsonl',
          prefix: true,
          workDir: this.workDir,
        });
      }
      this.finish(job, 'SUCCEEDED', 'Essential container in task exited');
    } catch (error) {
      this.finish(job, 'FAILED', `Essential container in task exited: ${(error as Error).message}`);
    }
  }

  private finish(job: BatchJob, status: 'SUCCEEDED' | 'FAILED', reason: string): void {
    job.status = status;
    job.statusReason = reason;
    job.stoppedAt = Date.now();
    job.startedAt ??= job.stoppedAt;
  }

  private register(region: string, input: Record<string, unknown>): unknown {
    const name = str(input, 'jobDefinitionName') ?? '';
    const revision = this.definitions.filter((d) => d.name === name).length + 1;
    const arn = `arn:aws:batch:${region}:${ACCOUNT_ID}:job-definition/${name}:${revision}`;
    this.definitions.push({ name, revision, arn, status: 'ACTIVE', request: input });
    this.tags.set(
      arn,
      Object.fromEntries(Object.entries(obj(input['tags'])).map(([k, v]) => [k, String(v)])),
    );
    return { jobDefinitionName: name, jobDefinitionArn: arn, revision };
  }

  private definition(ref: string): JobDefinition {
    const [name, revision] = ref.startsWith('arn:')
      ? (ref.split('/').pop() ?? '').split(':')
      : ref.split(':');
    const found = this.definitions
      .filter(
        (d) =>
          d.name === name &&
          (revision === undefined ? d.status === 'ACTIVE' : d.revision === Number(revision)),
      )
      .sort((a, b) => b.revision - a.revision)[0];
    if (found === undefined) throw new AwsError('ClientException', `Job definition ${ref} does not exist`);
    return found;
  }

  private renderDefinition(d: JobDefinition): unknown {
    const { jobDefinitionName: _n, tags: _t, ...rest } = d.request;
    return {
      ...rest,
      jobDefinitionName: d.name,
      jobDefinitionArn: d.arn,
      revision: d.revision,
      status: d.status,
      tags: this.tags.get(d.arn) ?? {},
    };
  }

  private renderJob(j: BatchJob): unknown {
    return {
      jobArn: j.arn,
      jobName: j.name,
      jobId: j.id,
      jobQueue: this.queues.get(j.queue)?.arn ?? j.queue,
      status: j.status,
      ...(j.statusReason === undefined ? {} : { statusReason: j.statusReason }),
      createdAt: j.createdAt,
      startedAt: j.startedAt ?? 0,
      ...(j.stoppedAt === undefined ? {} : { stoppedAt: j.stoppedAt }),
      jobDefinition: j.definition.arn,
      tags: this.tags.get(j.arn) ?? {},
    };
  }

  private tagsOf(arn: string): Record<string, string> {
    const tags = this.tags.get(arn);
    if (tags === undefined) throw new AwsError('ClientException', `Resource ${arn} not found`);
    return tags;
  }
}
