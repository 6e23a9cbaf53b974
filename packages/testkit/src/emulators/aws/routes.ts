import type { RouteSpec } from './botocore-model.js';

// The REST operations the emulator answers, by method and URI template (as in the official models; the
// tables are written out so routing works even where the models are absent).

export const S3_ROUTES: readonly RouteSpec[] = [
  { operation: 'ListBuckets', method: 'GET', uri: '/' },
  { operation: 'CreateBucket', method: 'PUT', uri: '/{Bucket}' },
  { operation: 'HeadBucket', method: 'HEAD', uri: '/{Bucket}' },
  { operation: 'DeleteBucket', method: 'DELETE', uri: '/{Bucket}' },
  { operation: 'ListObjectsV2', method: 'GET', uri: '/{Bucket}?list-type=2' },
  { operation: 'GetBucketNotificationConfiguration', method: 'GET', uri: '/{Bucket}?notification' },
  { operation: 'PutBucketNotificationConfiguration', method: 'PUT', uri: '/{Bucket}?notification' },
  { operation: 'PutObject', method: 'PUT', uri: '/{Bucket}/{Key+}' },
  { operation: 'UploadPart', method: 'PUT', uri: '/{Bucket}/{Key+}?partNumber&uploadId' },
  { operation: 'PutObjectTagging', method: 'PUT', uri: '/{Bucket}/{Key+}?tagging' },
  { operation: 'GetObject', method: 'GET', uri: '/{Bucket}/{Key+}' },
  { operation: 'GetObjectTagging', method: 'GET', uri: '/{Bucket}/{Key+}?tagging' },
  { operation: 'HeadObject', method: 'HEAD', uri: '/{Bucket}/{Key+}' },
  { operation: 'DeleteObject', method: 'DELETE', uri: '/{Bucket}/{Key+}' },
  { operation: 'DeleteObjectTagging', method: 'DELETE', uri: '/{Bucket}/{Key+}?tagging' },
  { operation: 'AbortMultipartUpload', method: 'DELETE', uri: '/{Bucket}/{Key+}?uploadId' },
  { operation: 'CreateMultipartUpload', method: 'POST', uri: '/{Bucket}/{Key+}?uploads' },
  { operation: 'CompleteMultipartUpload', method: 'POST', uri: '/{Bucket}/{Key+}?uploadId' },
];

export const RUNTIME_ROUTES: readonly RouteSpec[] = [
  { operation: 'InvokeEndpoint', method: 'POST', uri: '/endpoints/{EndpointName}/invocations' },
  { operation: 'InvokeEndpointAsync', method: 'POST', uri: '/endpoints/{EndpointName}/async-invocations' },
];

export const BATCH_ROUTES: readonly RouteSpec[] = [
  'RegisterJobDefinition',
  'DeregisterJobDefinition',
  'DescribeJobDefinitions',
  'DescribeJobQueues',
  'CreateJobQueue',
  'SubmitJob',
  'DescribeJobs',
  'ListJobs',
  'TerminateJob',
]
  .map((operation) => ({ operation, method: 'POST', uri: `/v1/${operation.toLowerCase()}` }))
  .concat([
    { operation: 'ListTagsForResource', method: 'GET', uri: '/v1/tags/{resourceArn}' },
    { operation: 'TagResource', method: 'POST', uri: '/v1/tags/{resourceArn}' },
    { operation: 'UntagResource', method: 'DELETE', uri: '/v1/tags/{resourceArn}' },
  ]);

export const SCHEDULER_ROUTES: readonly RouteSpec[] = [
  { operation: 'CreateSchedule', method: 'POST', uri: '/schedules/{Name}' },
  { operation: 'GetSchedule', method: 'GET', uri: '/schedules/{Name}' },
  { operation: 'UpdateSchedule', method: 'PUT', uri: '/schedules/{Name}' },
  { operation: 'DeleteSchedule', method: 'DELETE', uri: '/schedules/{Name}' },
  { operation: 'ListSchedules', method: 'GET', uri: '/schedules' },
  { operation: 'ListTagsForResource', method: 'GET', uri: '/tags/{ResourceArn}' },
];
