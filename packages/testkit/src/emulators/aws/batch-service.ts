import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageRegistry, RunningContainer } from '../shared/containers.js';
import { startContainer } from '../shared/containers.js';
import type { Reply } from './aws-http.js';
import { AwsError, restJson } from './aws-http.js';
import type { CallContext } from './context.js';
import { ACCOUNT_ID, list, num, obj, str } from './context.js';
import type { Faults } from './faults.js';
import type { Timers } from './timers.js';

/** https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html */
export const TASK_ROLE_DOC =
  'https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html';
/** https://docs.aws.amazon.com/batch/latest/userguide/job_timeouts.html */
export const JOB_TIMEOUT_DOC = 'https://docs.aws.amazon.com/batch/latest/userguide/job_timeouts.html';

/** Temporary credentials of a job's role, as the ECS credentials endpoint serves them. */
export interface IssuedCredentials {
  jobId: string;
  roleArn: string;
  accessKeyId: string;
  secretAccessKey: string;
  token: string;
  /** The Authorization header the container must send (AWS_CONTAINER_AUTHORIZATION_TOKEN). */
  authorization: string;
  /** How many times the container fetched them. */
  fetched: number;
  /** Set when the attempt ended: the endpoint then refuses them. */
  revoked: boolean;
}

export interface BatchOptions {
  /** The emulator's own URL: the container's S3 endpoint (the VPC route to S3) and credentials endpoint. */
  url: () => string;
  registry: ImageRegistry;
  workDir: string;
  /** Milliseconds of one second of `timeout.attemptDurationSeconds` (tests shrink it; default 1000). */
  secondMs: number;
}

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
  /** The container of the current attempt. */
  container?: RunningContainer;
  /** Exit code of the last attempt's container. */
  exitCode?: number;
  /** The whole output of the last attempt's container (its CloudWatch log stream). */
  logs?: string;
  attempts: { exitCode?: number; reason?: string; startedAt: number; stoppedAt: number }[];
}

/** Path prefix of the container credentials URLs the emulator serves. */
const CREDENTIALS_PATH = '/_emulator/ecs-credentials/';

const ORDER: BatchJobStatus[] = ['SUBMITTED', 'RUNNABLE', 'STARTING', 'RUNNING'];

/**
 * AWS Batch (restJson1, `/v1/...`): job queues, versioned job definitions, jobs that walk SUBMITTED →
 * RUNNABLE → STARTING → RUNNING → SUCCEEDED/FAILED. A job runs its definition's image as a container, as ECS
 * does: the image's entrypoint with the definition's `command` (`docker run IMAGE COMMAND…`), its
 * `environment`, AWS_REGION, the job role's credentials through the container credentials endpoint, and
 * S3 reached at the emulator. It succeeds when the container exits 0.
 */
export class BatchService {
  readonly queues = new Map<string, { name: string; arn: string }>();
  readonly definitions: JobDefinition[] = [];
  readonly jobs = new Map<string, BatchJob>();
  readonly tags = new Map<string, Record<string, string>>();
  /** Credentials handed to jobs (kept after the attempt, revoked), by the path of their credentials URL. */
  readonly credentials = new Map<string, IssuedCredentials>();
  private readonly inflight = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(
    private readonly faults: Faults,
    private readonly timers: Timers,
    private readonly options: BatchOptions,
  ) {}

  /**
   * The container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI): the job role's temporary
   * credentials in the ECS shape (TASK_ROLE_DOC), to a caller that sends the job's authorization token.
   * Undefined when the path is not a credentials path.
   */
  credentialsReply(path: string, authorization: string | undefined): Reply | undefined {
    if (!path.startsWith(CREDENTIALS_PATH)) return undefined;
    const issued = this.credentials.get(path);
    if (issued === undefined || issued.revoked || authorization !== issued.authorization) {
      return {
        status: 403,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: 'AccessDenied', message: 'no credentials for this caller' }),
      };
    }
    issued.fetched++;
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        RoleArn: issued.roleArn,
        AccessKeyId: issued.accessKeyId,
        SecretAccessKey: issued.secretAccessKey,
        Token: issued.token,
        Expiration: new Date(Date.now() + 6 * 3600_000).toISOString(),
      }),
    };
  }

  /** Stops every running job's container (the emulator's stop). */
  async stopAll(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.jobs.values()].map((j) => j.container?.stop(2_000)));
    // Attempts that were starting their container when the emulator stopped end too.
    await Promise.all([...this.inflight]);
  }

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
        if (job.status !== 'SUCCEEDED' && job.status !== 'FAILED') {
          this.finish(job, 'FAILED', str(input, 'reason') ?? 'Terminated');
          void job.container?.stop(2_000);
        }
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
      attempts: [],
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
    const attempts = Math.max(
      1,
      num(obj(job.request['retryStrategy']), 'attempts') ??
        num(obj(job.definition.request['retryStrategy']), 'attempts') ??
        1,
    );
    for (let attempt = 0; attempt < attempts; attempt++) {
      const running = this.attempt(job, attempt);
      this.inflight.add(running);
      const outcome = await running.finally(() => this.inflight.delete(running));
      if (job.status !== 'RUNNING') return; // terminated meanwhile
      job.attempts.push({
        startedAt: outcome.startedAt,
        stoppedAt: outcome.stoppedAt,
        ...(outcome.exitCode === undefined ? {} : { exitCode: outcome.exitCode }),
        ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
      });
      if (outcome.exitCode === 0) {
        this.finish(job, 'SUCCEEDED', 'Essential container in task exited');
        return;
      }
      if (attempt + 1 < attempts && outcome.timedOut !== true) continue;
      this.finish(job, 'FAILED', outcome.reason ?? 'Essential container in task exited');
      return;
    }
  }

  /** One attempt: the container from start to exit (or to the attempt timeout). */
  private async attempt(
    job: BatchJob,
    attempt: number,
  ): Promise<{
    exitCode?: number;
    reason?: string;
    timedOut?: boolean;
    startedAt: number;
    stoppedAt: number;
  }> {
    const startedAt = Date.now();
    const definition = job.definition.request;
    const properties = obj(definition['containerProperties']);
    const overrides = obj(job.request['containerOverrides']);
    const reference = str(properties, 'image') ?? '';
    const image = this.options.registry.get(reference);
    if (image === undefined) {
      // What ECS reports when the pull fails (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html).
      return {
        reason: `CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref ${reference}: not found`,
        startedAt,
        stoppedAt: Date.now(),
      };
    }
    const env: Record<string, string> = {};
    for (const pair of [...list(properties['environment']), ...list(overrides['environment'])].map(obj)) {
      env[String(pair['name'])] = String(pair['value']);
    }
    const region = /^arn:aws[a-z-]*:batch:([^:]+):/.exec(job.arn)?.[1] ?? 'us-east-1';
    // ECS sets the region, the job's own variables, and (with a job role) the credentials endpoint; the
    // emulator stands in for the VPC route to S3 with AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL.
    Object.assign(env, {
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_BATCH_JOB_ID: job.id,
      AWS_BATCH_JQ_NAME: job.queue,
      AWS_BATCH_JOB_ATTEMPT: String(attempt + 1),
      AWS_ENDPOINT_URL_S3: this.options.url(),
      AWS_ENDPOINT_URL: this.options.url(),
    });
    const dir = await mkdtemp(join(this.options.workDir, `batch-${job.id.slice(0, 8)}-`));
    // The container has no AWS profile files: none of the host's may leak in.
    env['AWS_CONFIG_FILE'] = join(dir, 'no-aws-config');
    env['AWS_SHARED_CREDENTIALS_FILE'] = join(dir, 'no-aws-credentials');
    const roleArn = str(properties, 'jobRoleArn');
    let credentialsPath: string | undefined;
    if (roleArn !== undefined) {
      credentialsPath = `${CREDENTIALS_PATH}${randomUUID()}`;
      const authorization = randomBytes(16).toString('hex');
      this.credentials.set(credentialsPath, {
        jobId: job.id,
        roleArn,
        accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
        secretAccessKey: randomBytes(20).toString('base64'),
        token: randomBytes(32).toString('base64'),
        authorization,
        fetched: 0,
        revoked: false,
      });
      env['AWS_CONTAINER_CREDENTIALS_FULL_URI'] = `${this.options.url()}${credentialsPath}`;
      env['AWS_CONTAINER_AUTHORIZATION_TOKEN'] = authorization;
    }
    const command = list(overrides['command']).length > 0 ? overrides['command'] : properties['command'];
    const container = await startContainer({
      image,
      name: `${job.name}-${attempt + 1}`,
      workDir: dir,
      env,
      ...(list(command).length === 0 ? {} : { args: list(command).map(String) }),
    });
    job.container = container;
    if (this.stopped) void container.stop(0);
    const timeoutS =
      num(obj(job.request['timeout']), 'attemptDurationSeconds') ??
      num(obj(definition['timeout']), 'attemptDurationSeconds');
    let timedOut = false;
    const timer =
      timeoutS === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            void container.stop(Math.min(30 * this.options.secondMs, 30_000));
          }, timeoutS * this.options.secondMs);
    const exit = await container.exited;
    if (timer !== undefined) clearTimeout(timer);
    delete job.container;
    job.logs = container.logs();
    const issued = credentialsPath === undefined ? undefined : this.credentials.get(credentialsPath);
    if (issued !== undefined) issued.revoked = true;
    await rm(dir, { recursive: true, force: true });
    const stoppedAt = Date.now();
    // A timed-out attempt is terminated (SIGTERM, SIGKILL 30 s later) and not retried (JOB_TIMEOUT_DOC). The
    // statusReason wording is what DescribeJobs reports for it (not on that page: a guess to confirm).
    if (timedOut) return { reason: 'Job attempt duration exceeded timeout', timedOut, startedAt, stoppedAt };
    const exitCode = exit.code ?? 137;
    job.exitCode = exitCode;
    // DescribeJobs says "Essential container in task exited" whatever the code; the code is in
    // container.exitCode and the output in the job's log stream (API_ContainerDetail.html).
    return { exitCode, reason: 'Essential container in task exited', startedAt, stoppedAt };
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
      ...(j.exitCode === undefined
        ? {}
        : { container: { exitCode: j.exitCode, logStreamName: `${j.definition.name}/default/${j.id}` } }),
      attempts: j.attempts.map((a) => ({
        startedAt: a.startedAt,
        stoppedAt: a.stoppedAt,
        ...(a.reason === undefined ? {} : { statusReason: a.reason }),
        container: { ...(a.exitCode === undefined ? {} : { exitCode: a.exitCode }) },
      })),
      tags: this.tags.get(j.arn) ?? {},
    };
  }

  private tagsOf(arn: string): Record<string, string> {
    const tags = this.tags.get(arn);
    if (tags === undefined) throw new AwsError('ClientException', `Resource ${arn} not found`);
    return tags;
  }
}
