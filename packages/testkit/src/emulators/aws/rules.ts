// The model-container rules of the AWS emulator (sagemaker-containers.ts, sagemaker-service.ts,
// runtime-service.ts, transform-runner.ts, batch-service.ts), each with its source: rendered into
// docs/emulator-rules.md (scripts/gen-emulator-rules.mjs).
import type { EmulatorRule } from '../shared/rules.js';

const HOSTING = 'https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html';
const BATCH = 'https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-batch-code.html';
const API = 'https://docs.aws.amazon.com/sagemaker/latest/APIReference';

export const SAGEMAKER_HOSTING_RULES: readonly EmulatorRule[] = [
  {
    rule: 'CreateModel looks PrimaryContainer.Image (and every Containers[].Image) up in the emulated registry (the images option); a reference it does not hold is a ValidationException "Requested image <ref> not found."',
    source:
      'https://github.com/aws-samples/easy-amazon-sagemaker-deployments/issues/4 (the message as SageMaker returns it); checking at CreateModel rather than at CreateEndpoint is as that report shows',
    status: 'verified',
  },
  {
    rule: 'CreateModel refuses an image pushed with an OCI manifest or index media type: ValidationException "Unsupported manifest media type <type> for image <ref>. Ensure that valid manifest media type is used for specified image."; Docker V2 Schema 2 manifests are accepted',
    source:
      'https://github.com/aws/amazon-sagemaker-feedback/issues/180; https://github.com/mlflow/mlflow/issues/13834 (application/vnd.oci.image.index.v1+json); https://github.com/moby/buildkit/issues/5480',
    status: 'verified',
  },
  {
    rule: 'A Docker manifest list (application/vnd.docker.distribution.manifest.list.v2+json) is accepted',
    source: 'not documented by AWS (audit A1: verify before relying on it)',
    status: 'guess',
  },
  {
    rule: "CreateEndpoint and UpdateEndpoint start one container per production variant: the image run as `docker run <image> serve` (its Entrypoint, the argument serve replacing its Cmd), with the model's Environment; one container stands for InitialInstanceCount instances",
    source: `${HOSTING} ("How SageMaker AI Runs Your Inference Image"); one container per variant is the emulator's simplification`,
    status: 'verified',
  },
  {
    rule: 'The model data is in /opt/ml/model: ModelDataUrl (and S3DataSource with CompressionType Gzip) is a model.tar.gz extracted there; an uncompressed S3Object lands as /opt/ml/model/<last key segment>; an uncompressed S3Prefix keeps the keys\' paths below the prefix; missing data fails the endpoint with "Failed to download model data for container "container_1" from URL …"',
    source: `${HOSTING} ("How SageMaker AI Loads Your Model Artifacts"); ${API}/API_S3ModelDataSource.html; the failure wording is as commonly reported (a guess to confirm)`,
    status: 'verified',
  },
  {
    rule: "An image labelled com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true gets SAGEMAKER_BIND_TO_PORT (a free loopback port, standing for the container's own network namespace) and is probed and called there; an image without the label is refused, since SageMaker would call it on 8080 and the emulator cannot give every container its own 8080",
    source:
      "https://docs.aws.amazon.com/sagemaker/latest/dg/inference-pipeline-real-time.html (the label and SAGEMAKER_BIND_TO_PORT, else 8080); refusing an unlabelled image is the emulator's limit",
    status: 'verified',
  },
  {
    rule: "The endpoint is InService once GET /ping answers 200; a container that exits first, or does not answer 200 within ContainerStartupHealthCheckTimeoutInSeconds (the variant's, else the emulator's healthCheckTimeoutMs, default 60 s), fails the endpoint (Failed; an update rolls back) with \"The primary container for production variant <name> did not pass the ping health check. Please check CloudWatch logs for this endpoint.\" followed by the container's last log lines (FailureReason ≤ 1024 characters)",
    source: `${HOSTING} ("How Your Container Should Respond to Health Check (Ping) Requests"); ${API}/API_ProductionVariant.html (ContainerStartupHealthCheckTimeoutInSeconds 60–3600); FailureReason max 1024 in the botocore model; appending the log lines stands for CloudWatch`,
    status: 'verified',
  },
  {
    rule: "UpdateEndpoint starts the new config's containers and stops the old ones once the new ones are healthy; DeleteEndpoint and the emulator's stop stop them (SIGTERM, then SIGKILL)",
    source: `${HOSTING} ("How SageMaker AI Runs Your Inference Image": SIGTERM, SIGKILL after 30 s; the emulator waits 2 s)`,
    status: 'verified',
  },
  {
    rule: "InvokeEndpoint POSTs the body to the container's /invocations with the caller's Content-Type, Accept and X-Amzn-SageMaker-Custom-Attributes and returns the container's body and Content-Type; a non-2xx answer is ModelError (424) with OriginalStatusCode, OriginalMessage and LogStreamArn; no answer within 60 s is a ModelError too",
    source: `${API}/API_runtime_InvokeEndpoint.html; ${HOSTING} ("How Your Container Should Respond to Inference Requests")`,
    status: 'verified',
  },
  {
    rule: 'Serverless and asynchronous endpoints use the same containers; an async request reads its input from S3, is POSTed to /invocations with its ContentType, Accept and CustomAttributes, may run up to ClientConfig.InvocationTimeoutSeconds (default 900 s), and its answer goes to S3OutputPath/<id>.out (an error to S3FailurePath/<id>-error.out)',
    source: `${API}/API_runtime_InvokeEndpointAsync.html; ${API}/API_AsyncInferenceClientConfig.html`,
    status: 'verified',
  },
];

export const SAGEMAKER_TRANSFORM_RULES: readonly EmulatorRule[] = [
  {
    rule: "A transform job starts the model's container as `docker run <image> serve` with the model's and the job's Environment, SAGEMAKER_BATCH=true, and SAGEMAKER_MAX_PAYLOAD_IN_MB, SAGEMAKER_BATCH_STRATEGY (SINGLE_RECORD or MULTI_RECORD) and SAGEMAKER_MAX_CONCURRENT_TRANSFORMS only when the request sets them; the model data as for endpoints; GET /ping until 200",
    source: `${BATCH} ("How SageMaker AI Runs Your Inference Image")`,
    status: 'verified',
  },
  {
    rule: 'Before any data, GET /execution-parameters: a JSON answer supplies MaxConcurrentTransforms, BatchStrategy and MaxPayloadInMB the request did not set; 404 (or anything else) is tolerated and the defaults apply (MultiRecord, 6 MB, 1)',
    source: `${BATCH} ("How Containers Serve Requests"); ${API}/API_CreateTransformJob.html (defaults)`,
    status: 'verified',
  },
  {
    rule: 'Every input object under the S3Prefix is split per SplitType (Line: one record per line; blank lines dropped) and packed into mini-batches: SingleRecord one record each, MultiRecord as many line-joined records as fit in MaxPayloadInMB; a record above the limit fails the job',
    source: `${API}/API_TransformInput.html (SplitType); ${API}/API_CreateTransformJob.html (BatchStrategy, MaxPayloadInMB); dropping blank lines is a guess`,
    status: 'verified',
  },
  {
    rule: 'Each mini-batch is POSTed to /invocations with Content-Type = TransformInput.ContentType and Accept = TransformOutput.Accept, at most MaxConcurrentTransforms at a time; 5xx answers and broken connections are retried ModelClientConfig.InvocationsMaxRetries times (default 3), each call bounded by InvocationsTimeoutInSeconds (default 600)',
    source: `${BATCH}; ${API}/API_ModelClientConfig.html`,
    status: 'verified',
  },
  {
    rule: "The answers are assembled per AssembleWith (Line: each answer ends with a line break) into S3OutputPath/<key relative to the input prefix>.out; a non-2xx answer fails the job with a FailureReason naming the status, the records and the container's body",
    source: `${API}/API_TransformOutput.html (AssembleWith, Accept); the FailureReason wording is the emulator's`,
    status: 'guess',
  },
];

export const AWS_BATCH_RULES: readonly EmulatorRule[] = [
  {
    rule: "A job runs its definition's image (from the emulated registry; OCI manifests are fine) as a container: the image's Entrypoint with containerProperties.command (or containerOverrides.command) as its arguments, the image's Env then the definition's and the overrides' environment",
    source:
      'https://docs.aws.amazon.com/batch/latest/APIReference/API_ContainerProperties.html (command: maps to COMMAND of docker run); a reference not in the registry fails the attempt with CannotPullContainerError (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html)',
    status: 'verified',
  },
  {
    rule: 'The container also gets AWS_REGION, AWS_DEFAULT_REGION, AWS_BATCH_JOB_ID, AWS_BATCH_JQ_NAME and AWS_BATCH_JOB_ATTEMPT',
    source: 'https://docs.aws.amazon.com/batch/latest/userguide/job_env_vars.html',
    status: 'verified',
  },
  {
    rule: "With a jobRoleArn, the container gets AWS_CONTAINER_CREDENTIALS_FULL_URI (on the emulator) and AWS_CONTAINER_AUTHORIZATION_TOKEN; that URL serves the role's temporary credentials (AccessKeyId, SecretAccessKey, Token, Expiration, RoleArn) to a caller sending the token, until the attempt ends. ECS itself sets AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (169.254.170.2), which a test host cannot serve",
    source:
      'https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html; the FULL_URI form is what the SDKs accept on loopback (AWS SDK container credential provider)',
    status: 'verified',
  },
  {
    rule: 'AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL point at the emulator (the stand-in for the VPC route to S3); the container has no AWS profile files',
    source: 'emulator only (no AWS Batch counterpart)',
    status: 'guess',
  },
  {
    rule: 'The attempt succeeds when the container exits 0 (SUCCEEDED); another exit code fails it (FAILED, statusReason "Essential container in task exited", container.exitCode set); retryStrategy.attempts attempts in all',
    source:
      'https://docs.aws.amazon.com/batch/latest/APIReference/API_ContainerDetail.html (exitCode, reason); https://docs.aws.amazon.com/batch/latest/userguide/job_retries.html',
    status: 'verified',
  },
  {
    rule: 'An attempt still running timeout.attemptDurationSeconds after it started is terminated (SIGTERM, SIGKILL 30 s later) and not retried: FAILED with statusReason "Job attempt duration exceeded timeout" (the emulator\'s batchSecondMs scales the seconds in tests)',
    source:
      'https://docs.aws.amazon.com/batch/latest/userguide/job_timeouts.html; the statusReason wording is not on that page (a guess to confirm)',
    status: 'guess',
  },
];
