import type { JobDefinition, JobDetail } from '@aws-sdk/client-batch';
import type { DesiredResource, LoadedBatchJob, ObservedResource, PlanAction } from '@modelport/core';
import { DeploymentState, ModelportError, TAGS, resourceKey, specHash, uriScheme } from '@modelport/core';
import { artifactResource, modelData } from './artifact.js';
import { toAwsCron } from './aws-cron.js';
import { batchInput, downloadOutputs, inputResource } from './batch-input.js';
import type { AwsJobClients } from './client-factory.js';
import type { DeploymentContext } from './deployment-context.js';
import { waitUntil } from './deployment-context.js';
import { call, isNotFound } from './errors.js';
import { RT } from './resource-types.js';
import { isOurs, resourceTags, s3Uri, tagList } from './settings.js';
import { localOutputDir } from './transform-job.js';

export const AWS_BATCH_TYPES: readonly string[] = [RT.jobDefinition, RT.batchJob, RT.schedule, RT.rule];

/** AWS Batch job states → neutral states. */
const JOB_STATES: Readonly<Record<string, DeploymentState>> = {
  SUBMITTED: DeploymentState.Pending,
  PENDING: DeploymentState.Pending,
  RUNNABLE: DeploymentState.Pending,
  STARTING: DeploymentState.Running,
  RUNNING: DeploymentState.Running,
  SUCCEEDED: DeploymentState.Succeeded,
  FAILED: DeploymentState.Failed,
};

/** EventBridge Scheduler's universal target for the Batch SubmitJob API. */
const SUBMIT_JOB_TARGET = 'arn:aws:scheduler:::aws-sdk:batch:submitJob';
/** Schedules take no tags: their description marks them as modelport's. */
const SCHEDULE_MARK = 'managed by modelport: ';

export interface JobDefinitionProperties {
  image: string;
  /** The container's command (`docker run IMAGE COMMAND…`): the serving image's batch mode. */
  command: string[];
  vcpus: number;
  memoryMiB: number;
  gpus?: number;
  environment: Record<string, string>;
  jobRoleArn: string;
  attempts: number;
  timeoutSeconds?: number;
}

export interface ScheduleProperties {
  expression: string;
  timezone: string;
  state: 'ENABLED' | 'DISABLED';
  target: { arn: string; roleArn: string; input: Record<string, string> };
}

export interface RuleProperties {
  pattern: Record<string, unknown>;
  target: { queue: string; jobDefinition: string; jobName: string; roleArn: string };
}

/**
 * A BatchJob with engine `aws-batch`: the model's container as an AWS Batch job definition (the modelport
 * image in batch mode: the environment names the model, the input and the output), run now, on a schedule
 * (EventBridge Scheduler → SubmitJob) or when a file lands under the input prefix (EventBridge rule on S3
 * "Object Created" → the job queue).
 */
export async function awsBatchDesired(
  dc: DeploymentContext,
  manifest: LoadedBatchJob,
): Promise<DesiredResource[]> {
  const settings = dc.settings;
  const spec = manifest.manifest.spec;
  const batch = spec.batch;
  const queue = settings.batchJobQueue;
  if (queue === undefined) {
    throw new ModelportError('invalidInput', 'engine aws-batch needs spec.extensions.aws.batchJobQueue', {
      hint: 'name the AWS Batch job queue (name or ARN) the job runs in',
    });
  }
  const triggered = batch.trigger?.onNewInput === true;
  if (triggered && uriScheme(batch.input) !== 's3') {
    throw new ModelportError('invalidInput', 'a job started on new input needs an s3:// input prefix', {
      hint: 'set spec.batch.input to the s3:// prefix files arrive under',
    });
  }
  const data = await modelData(manifest, settings);
  const artifact = artifactResource(data);
  const input = await batchInput(manifest, settings);
  const upload = inputResource(input);
  const output =
    uriScheme(batch.output) === 's3'
      ? batch.output
      : s3Uri(settings.bucket, `${settings.prefix}/${settings.name}/batch-output/`);
  const resources: DesiredResource[] = [
    ...(artifact === undefined ? [] : [artifact]),
    ...(upload === undefined ? [] : [upload]),
  ];

  let definitionRef = settings.batchJobDefinition;
  let definitionHash = definitionRef ?? '';
  if (definitionRef === undefined) {
    if (spec.model.image === undefined) {
      throw new ModelportError('invalidInput', 'engine aws-batch runs spec.model.image: set it', {
        hint: 'the modelport serving image (its `batch` command runs the job to completion)',
      });
    }
    const compute = spec.compute ?? {};
    const modelUri = data.modelDataUrl ?? data.uncompressedUri;
    // The serving image's run-to-completion mode: `run batch` (also MODELPORT_MODE=batch), reading the model
    // (an s3:// model.tar.gz or object) and the input from S3 with the job role, writing `<file>.out` to the
    // output, exiting 0 when done (audit A3). AWS Batch passes `command` as the container's arguments.
    const properties: JobDefinitionProperties = {
      image: spec.model.image,
      command: ['batch'],
      vcpus: compute.cpu ?? 1,
      memoryMiB: Math.round((compute.memoryGiB ?? 2) * 1024),
      ...(compute.accelerator === undefined ? {} : { gpus: compute.accelerator.count ?? 1 }),
      environment: {
        MODELPORT_MODE: 'batch',
        ...(modelUri === undefined ? {} : { MODELPORT_MODEL: modelUri }),
        MODELPORT_BATCH_INPUT: input.uri,
        MODELPORT_BATCH_OUTPUT: output,
        MODELPORT_BATCH_FORMAT: batch.format ?? 'jsonl',
        ...(batch.miniBatchSize === undefined ? {} : { MODELPORT_BATCH_SIZE: String(batch.miniBatchSize) }),
        // The SDK in the container needs a region for S3; not every compute environment sets one.
        AWS_REGION: settings.region,
      },
      jobRoleArn: settings.roleArn,
      attempts: Math.min(10, Math.max(1, (batch.maxRetries ?? 0) + 1)),
      ...(spec.limits?.timeoutSeconds === undefined
        ? {}
        : { timeoutSeconds: Math.max(60, spec.limits.timeoutSeconds) }),
    };
    definitionRef = settings.name;
    definitionHash = specHash(properties);
    resources.push({
      type: RT.jobDefinition,
      name: settings.name,
      properties: properties as unknown as Record<string, unknown>,
      dependsOn: [
        ...(artifact === undefined ? [] : [resourceKey(artifact)]),
        ...(upload === undefined ? [] : [resourceKey(upload)]),
      ],
    });
  }
  const definitionDeps = resources.filter((r) => r.type === RT.jobDefinition).map(resourceKey);

  if (batch.schedule !== undefined) {
    resources.push({
      type: RT.schedule,
      name: settings.name,
      properties: {
        expression: toAwsCron(batch.schedule),
        timezone: 'UTC',
        state: 'ENABLED',
        target: {
          arn: SUBMIT_JOB_TARGET,
          roleArn: settings.roleArn,
          input: { jobName: settings.name, jobQueue: queue, jobDefinition: definitionRef },
        },
      } satisfies ScheduleProperties as unknown as Record<string, unknown>,
      dependsOn: definitionDeps,
    });
  }
  if (triggered) {
    const { bucket, key } = parseS3(batch.input);
    resources.push({
      type: RT.rule,
      name: `${settings.name}-on-input`,
      properties: {
        pattern: {
          source: ['aws.s3'],
          'detail-type': ['Object Created'],
          detail: { bucket: { name: [bucket] }, object: { key: [{ prefix: key }] } },
        },
        target: {
          queue: queueName(queue),
          jobDefinition: definitionRef,
          jobName: settings.name,
          roleArn: settings.roleArn,
        },
      } satisfies RuleProperties as unknown as Record<string, unknown>,
      dependsOn: definitionDeps,
    });
  }
  if (batch.schedule === undefined && !triggered) {
    const properties = { queue, jobDefinition: definitionRef, definition: definitionHash, output };
    resources.push({
      type: RT.batchJob,
      name: `${settings.name}-${specHash(properties).slice(0, 8)}`,
      properties,
      immutable: Object.keys(properties),
      dependsOn: definitionDeps,
    });
  }
  return resources;
}

export async function awsBatchObserve(dc: DeploymentContext): Promise<ObservedResource[]> {
  const clients = await dc.clients.jobClients();
  const [definitions, jobs, schedules, rules] = await Promise.all([
    observeDefinitions(dc, clients),
    observeJobs(dc, clients),
    observeSchedule(dc, clients),
    observeRule(dc, clients),
  ]);
  return [...definitions, ...jobs, ...schedules, ...rules];
}

async function observeDefinitions(
  dc: DeploymentContext,
  clients: AwsJobClients,
): Promise<ObservedResource[]> {
  const { DescribeJobDefinitionsCommand } = await import('@aws-sdk/client-batch');
  const listed = await call('describe the job definitions', () =>
    clients.batch.send(
      new DescribeJobDefinitionsCommand({ jobDefinitionName: dc.settings.name, status: 'ACTIVE' }),
    ),
  );
  const latest = [...(listed.jobDefinitions ?? [])].sort((a, b) => (b.revision ?? 0) - (a.revision ?? 0))[0];
  if (latest === undefined) return [];
  const tags = Object.fromEntries(Object.entries(latest.tags ?? {}).map(([k, v]) => [k, v ?? '']));
  return [
    {
      type: RT.jobDefinition,
      name: dc.settings.name,
      properties: definitionProperties(latest) as unknown as Record<string, unknown>,
      specHash: tags[TAGS.specHash],
      managed: isOurs(tags, dc.settings),
      state: DeploymentState.Ready,
      raw: latest,
    },
  ];
}

function definitionProperties(d: JobDefinition): JobDefinitionProperties {
  const container = d.containerProperties ?? {};
  const requirement = (type: string) => container.resourceRequirements?.find((r) => r.type === type)?.value;
  const gpus = requirement('GPU');
  return {
    image: container.image ?? '',
    command: [...(container.command ?? [])],
    vcpus: Number(requirement('VCPU') ?? 0),
    memoryMiB: Number(requirement('MEMORY') ?? 0),
    ...(gpus === undefined ? {} : { gpus: Number(gpus) }),
    environment: Object.fromEntries((container.environment ?? []).map((e) => [e.name ?? '', e.value ?? ''])),
    jobRoleArn: container.jobRoleArn ?? '',
    attempts: d.retryStrategy?.attempts ?? 1,
    ...(d.timeout?.attemptDurationSeconds === undefined
      ? {}
      : { timeoutSeconds: d.timeout.attemptDurationSeconds }),
  };
}

function jobPrefix(name: string): string {
  return name.slice(0, 128 - 18);
}

async function observeJobs(dc: DeploymentContext, clients: AwsJobClients): Promise<ObservedResource[]> {
  const queue = dc.settings.batchJobQueue;
  if (queue === undefined) return [];
  const { DescribeJobsCommand, ListJobsCommand } = await import('@aws-sdk/client-batch');
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const page = await call('list the batch jobs', () =>
      clients.batch.send(
        new ListJobsCommand({
          jobQueue: queue,
          filters: [{ name: 'JOB_NAME', values: [`${jobPrefix(dc.settings.name)}-*`] }],
          ...(token === undefined ? {} : { nextToken: token }),
        }),
      ),
    );
    for (const job of page.jobSummaryList ?? []) if (job.jobId !== undefined) ids.push(job.jobId);
    token = page.nextToken;
  } while (token !== undefined);
  if (ids.length === 0) return [];
  const details: JobDetail[] = [];
  for (let i = 0; i < ids.length; i += 100) {
    const described = await call('describe the batch jobs', () =>
      clients.batch.send(new DescribeJobsCommand({ jobs: ids.slice(i, i + 100) })),
    );
    details.push(...(described.jobs ?? []));
  }
  const latest = new Map<string, JobDetail>();
  for (const job of details) {
    const tags = job.tags ?? {};
    if (!isOurs(tags, dc.settings)) continue;
    const logical = `${dc.settings.name}-${(tags[TAGS.specHash] ?? '').slice(0, 8)}`;
    const seen = latest.get(logical);
    if (seen === undefined || (job.createdAt ?? 0) > (seen.createdAt ?? 0)) latest.set(logical, job);
  }
  return [...latest].map(([logical, job]) => ({
    type: RT.batchJob,
    name: logical,
    // Jobs are read back by their tags (the spec hash): a submitted job's fields are its definition's.
    properties: {},
    specHash: job.tags?.[TAGS.specHash],
    managed: true,
    state: JOB_STATES[job.status ?? ''] ?? DeploymentState.Unknown,
    raw: job,
  }));
}

async function observeSchedule(dc: DeploymentContext, clients: AwsJobClients): Promise<ObservedResource[]> {
  const { GetScheduleCommand } = await import('@aws-sdk/client-scheduler');
  let got;
  try {
    got = await call(`read schedule ${dc.settings.name}`, () =>
      clients.scheduler.send(new GetScheduleCommand({ Name: dc.settings.name })),
    );
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  const properties: ScheduleProperties = {
    expression: got.ScheduleExpression ?? '',
    timezone: got.ScheduleExpressionTimezone ?? 'UTC',
    state: got.State === 'DISABLED' ? 'DISABLED' : 'ENABLED',
    target: {
      arn: got.Target?.Arn ?? '',
      roleArn: got.Target?.RoleArn ?? '',
      input: JSON.parse(got.Target?.Input ?? '{}') as Record<string, string>,
    },
  };
  const props = properties as unknown as Record<string, unknown>;
  return [
    {
      type: RT.schedule,
      name: dc.settings.name,
      properties: props,
      specHash: specHash(props),
      managed: got.Description === `${SCHEDULE_MARK}${dc.settings.kind}/${dc.settings.name}`,
      state: properties.state === 'ENABLED' ? DeploymentState.Ready : DeploymentState.Stopped,
      raw: got,
    },
  ];
}

async function observeRule(dc: DeploymentContext, clients: AwsJobClients): Promise<ObservedResource[]> {
  const { DescribeRuleCommand, ListTagsForResourceCommand, ListTargetsByRuleCommand } =
    await import('@aws-sdk/client-eventbridge');
  const name = `${dc.settings.name}-on-input`;
  let rule;
  try {
    rule = await call(`describe rule ${name}`, () =>
      clients.events.send(new DescribeRuleCommand({ Name: name })),
    );
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  const [tagged, targets] = await Promise.all([
    call(`read the tags of rule ${name}`, () =>
      clients.events.send(new ListTagsForResourceCommand({ ResourceARN: rule.Arn })),
    ),
    call(`list the targets of rule ${name}`, () =>
      clients.events.send(new ListTargetsByRuleCommand({ Rule: name })),
    ),
  ]);
  const tags = Object.fromEntries((tagged.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  const target = targets.Targets?.[0];
  return [
    {
      type: RT.rule,
      name,
      properties: {
        pattern: JSON.parse(rule.EventPattern ?? '{}') as Record<string, unknown>,
        target: {
          queue: queueName(target?.Arn ?? ''),
          jobDefinition: target?.BatchParameters?.JobDefinition ?? '',
          jobName: target?.BatchParameters?.JobName ?? '',
          roleArn: target?.RoleArn ?? '',
        },
      },
      specHash: tags[TAGS.specHash],
      managed: isOurs(tags, dc.settings),
      state: rule.State === 'ENABLED' ? DeploymentState.Ready : DeploymentState.Stopped,
      raw: rule,
    },
  ];
}

export async function awsBatchExecute(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const clients = await dc.clients.jobClients();
  switch (action.type) {
    case RT.jobDefinition:
      return action.kind === 'delete'
        ? deregisterDefinitions(dc, clients)
        : registerDefinition(dc, clients, action);
    case RT.batchJob:
      return action.kind === 'delete' ? retireJob(dc, clients, action) : runJob(dc, clients, action);
    case RT.schedule:
      return putSchedule(dc, clients, action);
    case RT.rule:
      return putRule(dc, clients, action);
    default:
      throw new ModelportError('internal', `no AWS Batch resource type ${action.type}`);
  }
}

/** A new revision (job definitions are versioned); the older active ones are deregistered after it. */
async function registerDefinition(
  dc: DeploymentContext,
  clients: AwsJobClients,
  action: PlanAction,
): Promise<void> {
  const { RegisterJobDefinitionCommand } = await import('@aws-sdk/client-batch');
  const p = action.desired?.properties as unknown as JobDefinitionProperties;
  const registered = await call(`register job definition ${action.name}`, () =>
    clients.batch.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: action.name,
        type: 'container',
        containerProperties: {
          image: p.image,
          command: p.command,
          jobRoleArn: p.jobRoleArn,
          environment: Object.entries(p.environment).map(([name, value]) => ({ name, value })),
          resourceRequirements: [
            { type: 'VCPU', value: String(p.vcpus) },
            { type: 'MEMORY', value: String(p.memoryMiB) },
            ...(p.gpus === undefined ? [] : [{ type: 'GPU' as const, value: String(p.gpus) }]),
          ],
        },
        retryStrategy: { attempts: p.attempts },
        ...(p.timeoutSeconds === undefined ? {} : { timeout: { attemptDurationSeconds: p.timeoutSeconds } }),
        propagateTags: true,
        tags: resourceTags(dc.settings, action.specHash),
      }),
    ),
  );
  await deregisterDefinitions(dc, clients, registered.revision);
}

async function deregisterDefinitions(
  dc: DeploymentContext,
  clients: AwsJobClients,
  keep?: number,
): Promise<void> {
  const { DeregisterJobDefinitionCommand, DescribeJobDefinitionsCommand } =
    await import('@aws-sdk/client-batch');
  const listed = await call('describe the job definitions', () =>
    clients.batch.send(
      new DescribeJobDefinitionsCommand({ jobDefinitionName: dc.settings.name, status: 'ACTIVE' }),
    ),
  );
  for (const d of listed.jobDefinitions ?? []) {
    if (d.revision === keep || d.jobDefinitionArn === undefined) continue;
    await call(`deregister ${d.jobDefinitionArn}`, () =>
      clients.batch.send(new DeregisterJobDefinitionCommand({ jobDefinition: d.jobDefinitionArn })),
    );
  }
}

/** Submits the job, waits for it, and (for a local output folder) downloads the results. */
async function runJob(dc: DeploymentContext, clients: AwsJobClients, action: PlanAction): Promise<void> {
  const { DescribeJobsCommand, SubmitJobCommand } = await import('@aws-sdk/client-batch');
  if (action.kind === 'replace') await retireJob(dc, clients, action);
  const p = action.desired?.properties as { queue: string; jobDefinition: string; output: string };
  const jobName = `${jobPrefix(dc.settings.name)}-${action.name.slice(-8)}-${Date.now().toString(36)}`;
  const submitted = await call(`submit batch job ${jobName}`, () =>
    clients.batch.send(
      new SubmitJobCommand({
        jobName,
        jobQueue: p.queue,
        jobDefinition: p.jobDefinition,
        tags: resourceTags(dc.settings, action.specHash),
        propagateTags: true,
      }),
    ),
  );
  const id = submitted.jobId ?? '';
  const done = await waitUntil(
    dc,
    `batch job ${jobName}`,
    async () =>
      (
        await call(`describe batch job ${jobName}`, () =>
          clients.batch.send(new DescribeJobsCommand({ jobs: [id] })),
        )
      ).jobs?.[0],
    (job) => job?.status ?? '?',
    (job) => job === undefined || job.status === 'SUCCEEDED' || job.status === 'FAILED',
  );
  if (done?.status !== 'SUCCEEDED') {
    const exitCode = done?.container?.exitCode;
    const logStream = done?.container?.logStreamName;
    throw new ModelportError(
      'unavailable',
      `batch job ${jobName} failed: ${done?.statusReason ?? 'no reason given'}${exitCode === undefined ? '' : ` (exit code ${exitCode})`}`,
      {
        retryable: false,
        hint: `the container log is in CloudWatch (/aws/batch/job${logStream === undefined ? '' : `, stream ${logStream}`}); fix the cause and apply again (a new job is submitted)`,
        details: { jobId: id, statusReason: done?.statusReason, exitCode },
      },
    );
  }
  const local = localOutputDir(dc.manifest as LoadedBatchJob);
  if (local !== undefined) {
    const files = await downloadOutputs(dc, p.output, local);
    dc.ctx.progress(`batch job ${jobName} succeeded; ${files.length} file(s) in ${local}`);
  }
}

/** Batch jobs cannot be deleted: a running one is terminated, and modelport's tags come off. */
async function retireJob(dc: DeploymentContext, clients: AwsJobClients, action: PlanAction): Promise<void> {
  const { TerminateJobCommand, UntagResourceCommand } = await import('@aws-sdk/client-batch');
  let job = action.observed?.raw as JobDetail | undefined;
  if (job === undefined) {
    job = (await observeJobs(dc, clients)).find((o) => o.name === action.name)?.raw as JobDetail | undefined;
  }
  if (job?.jobId === undefined) return;
  if (job.status !== 'SUCCEEDED' && job.status !== 'FAILED') {
    await call(`terminate batch job ${job.jobName ?? ''}`, () =>
      clients.batch.send(
        new TerminateJobCommand({ jobId: job.jobId, reason: 'removed by modelport destroy' }),
      ),
    );
  }
  if (job.jobArn !== undefined) {
    await call(`untag batch job ${job.jobName ?? ''}`, () =>
      clients.batch.send(new UntagResourceCommand({ resourceArn: job.jobArn, tagKeys: Object.values(TAGS) })),
    );
  }
}

async function putSchedule(dc: DeploymentContext, clients: AwsJobClients, action: PlanAction): Promise<void> {
  const { CreateScheduleCommand, DeleteScheduleCommand, UpdateScheduleCommand } =
    await import('@aws-sdk/client-scheduler');
  if (action.kind === 'delete') {
    try {
      await call(`delete schedule ${action.name}`, () =>
        clients.scheduler.send(new DeleteScheduleCommand({ Name: action.name })),
      );
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return;
  }
  const p = action.desired?.properties as unknown as ScheduleProperties;
  const input = {
    Name: action.name,
    ScheduleExpression: p.expression,
    ScheduleExpressionTimezone: p.timezone,
    State: p.state,
    FlexibleTimeWindow: { Mode: 'OFF' as const },
    Description: `${SCHEDULE_MARK}${dc.settings.kind}/${dc.settings.name}`,
    Target: { Arn: p.target.arn, RoleArn: p.target.roleArn, Input: JSON.stringify(p.target.input) },
  };
  if (action.kind === 'create') {
    await call(`create schedule ${action.name}`, () =>
      clients.scheduler.send(new CreateScheduleCommand(input)),
    );
  } else {
    await call(`update schedule ${action.name}`, () =>
      clients.scheduler.send(new UpdateScheduleCommand(input)),
    );
  }
}

async function putRule(dc: DeploymentContext, clients: AwsJobClients, action: PlanAction): Promise<void> {
  const events = await import('@aws-sdk/client-eventbridge');
  if (action.kind === 'delete') {
    try {
      await call(`remove the targets of rule ${action.name}`, () =>
        clients.events.send(new events.RemoveTargetsCommand({ Rule: action.name, Ids: ['batch-job'] })),
      );
      await call(`delete rule ${action.name}`, () =>
        clients.events.send(new events.DeleteRuleCommand({ Name: action.name })),
      );
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return;
  }
  const p = action.desired?.properties as unknown as RuleProperties;
  await warnWithoutNotifications(dc, p);
  const tags = tagList(resourceTags(dc.settings, action.specHash));
  const rule = await call(`put rule ${action.name}`, () =>
    clients.events.send(
      new events.PutRuleCommand({
        Name: action.name,
        EventPattern: JSON.stringify(p.pattern),
        State: 'ENABLED',
        Description: `modelport: runs ${dc.settings.name} when a file lands under its input`,
        ...(action.kind === 'create' ? { Tags: tags } : {}),
      }),
    ),
  );
  if (action.kind !== 'create' && rule.RuleArn !== undefined) {
    await call(`tag rule ${action.name}`, () =>
      clients.events.send(new events.TagResourceCommand({ ResourceARN: rule.RuleArn, Tags: tags })),
    );
  }
  const queueArn = await queueArnOf(dc, clients, p.target.queue);
  await call(`point rule ${action.name} at the job queue`, () =>
    clients.events.send(
      new events.PutTargetsCommand({
        Rule: action.name,
        Targets: [
          {
            Id: 'batch-job',
            Arn: queueArn,
            RoleArn: p.target.roleArn,
            BatchParameters: { JobDefinition: p.target.jobDefinition, JobName: p.target.jobName },
          },
        ],
      }),
    ),
  );
}

/** An EventBridge target needs the queue's ARN; the manifest may give its name. */
async function queueArnOf(dc: DeploymentContext, clients: AwsJobClients, queue: string): Promise<string> {
  if (queue.startsWith('arn:')) return queue;
  const { DescribeJobQueuesCommand } = await import('@aws-sdk/client-batch');
  const found = await call(`find job queue ${queue}`, () =>
    clients.batch.send(new DescribeJobQueuesCommand({ jobQueues: [queue] })),
  );
  const arn = found.jobQueues?.[0]?.jobQueueArn;
  if (arn === undefined) {
    throw new ModelportError(
      'notFound',
      `AWS Batch job queue ${queue} does not exist in ${dc.settings.region}`,
      {
        hint: 'create the queue (and its compute environment) first, or fix spec.extensions.aws.batchJobQueue',
      },
    );
  }
  return arn;
}

/** S3 sends "Object Created" events to EventBridge only when the bucket says so: warn when it does not. */
async function warnWithoutNotifications(dc: DeploymentContext, p: RuleProperties): Promise<void> {
  const { GetBucketNotificationConfigurationCommand } = await import('@aws-sdk/client-s3');
  const bucket = ((p.pattern['detail'] as { bucket?: { name?: string[] } } | undefined)?.bucket?.name ??
    [])[0];
  if (bucket === undefined) return;
  const config = await call(`read the notification settings of ${bucket}`, () =>
    dc.clients.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket })),
  );
  if (config.EventBridgeConfiguration === undefined) {
    dc.ctx.log('warn', `bucket ${bucket} does not send events to EventBridge: the rule will not fire`, {
      hint: 'turn on "Send notifications to Amazon EventBridge" for the bucket (PutBucketNotificationConfiguration with EventBridgeConfiguration)',
    });
  }
}

/** Rules point at the queue's ARN; plans compare its name (the manifest may give either). */
function queueName(queue: string): string {
  return queue.startsWith('arn:') ? (queue.split('/').pop() ?? queue) : queue;
}

function parseS3(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  return { bucket: match?.[1] ?? '', key: match?.[2] ?? '' };
}
