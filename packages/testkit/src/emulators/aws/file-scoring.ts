import { mkdtemp, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { predictFile } from '@modelport/runtime';
import type { OnnxModel } from '@modelport/runtime';
import type { S3Service } from './s3-service.js';

/**
 * Scores S3 files line by line with the runtime's batch file processor (what a transform job, or the
 * modelport container run as an AWS Batch job, does): `<key>.out` per input object under the output prefix.
 */
export async function scoreS3Files(
  s3: S3Service,
  model: OnnxModel,
  options: {
    inputUri: string;
    outputUri: string;
    format: 'jsonl' | 'csv';
    prefix: boolean;
    workDir: string;
    accept?: string;
  },
): Promise<number> {
  const from = /^s3:\/\/([^/]+)\/?(.*)$/.exec(options.inputUri);
  const to = /^s3:\/\/([^/]+)\/?(.*)$/.exec(options.outputUri);
  if (from === null || to === null)
    throw new Error(`bad S3 location ${options.inputUri} or ${options.outputUri}`);
  const [, inBucket = '', inPrefix = ''] = from;
  const [, outBucket = '', outRaw = ''] = to;
  const outPrefix = outRaw === '' || outRaw.endsWith('/') ? outRaw : `${outRaw}/`;
  const objects = s3
    .objects(inBucket)
    .filter((o) => (options.prefix ? o.key.startsWith(inPrefix) && !o.key.endsWith('/') : o.key === inPrefix))
    .filter((o) => !o.key.endsWith('.out'));
  if (objects.length === 0)
    throw new Error(`No S3 objects found under S3 URL "${options.inputUri}" given in input data source.`);
  const dir = await mkdtemp(join(options.workDir, 'score-'));
  try {
    for (const object of objects) {
      const base = inPrefix.includes('/') ? inPrefix.slice(0, inPrefix.lastIndexOf('/') + 1) : '';
      const name = options.prefix ? relative(base, object.key) : (object.key.split('/').pop() ?? object.key);
      const outFile = join(dir, `${object.key.replace(/[^\w.-]/g, '_')}.out`);
      const result = await predictFile({
        model,
        input: object.path,
        output: outFile,
        format: options.format,
      });
      if (result.errors > 0) {
        throw new Error(
          `${result.errors} record(s) of ${object.key} could not be scored (see the container log)`,
        );
      }
      await s3.putFile(
        outBucket,
        `${outPrefix}${name}.out`,
        outFile,
        options.accept ?? 'application/jsonlines',
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return objects.length;
}
