import { GetObjectTaggingCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { _Object } from '@aws-sdk/client-s3';
import type { ObservedResource } from '@modelport/core';
import { DeploymentState, TAGS } from '@modelport/core';
import type { DeploymentContext } from './deployment-context.js';
import { call } from './errors.js';
import { isOurs } from './settings.js';

/** Every object under a prefix, following the pages. */
export async function listAll(dc: DeploymentContext, bucket: string, prefix: string): Promise<_Object[]> {
  const objects: _Object[] = [];
  let token: string | undefined;
  do {
    const page = await call(`list s3://${bucket}/${prefix}`, () =>
      dc.clients.s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      ),
    );
    objects.push(...(page.Contents ?? []));
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return objects;
}

/**
 * An S3 resource (an artifact, an uploaded input folder) as observed: found by the tags of the object
 * `key`, named `uri`; undefined when the object is not this deployment's.
 */
export async function observeTaggedObject(
  dc: DeploymentContext,
  resource: { type: string; uri: string; key: string },
): Promise<ObservedResource | undefined> {
  const tagging = await call(`read the tags of s3://${dc.settings.bucket}/${resource.key}`, () =>
    dc.clients.s3.send(new GetObjectTaggingCommand({ Bucket: dc.settings.bucket, Key: resource.key })),
  );
  const tags = Object.fromEntries((tagging.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  if (!isOurs(tags, dc.settings)) return undefined;
  return {
    type: resource.type,
    name: resource.uri,
    properties: { uri: resource.uri },
    specHash: tags[TAGS.specHash],
    managed: true,
    state: DeploymentState.Ready,
    raw: { key: resource.key, tags },
  };
}
