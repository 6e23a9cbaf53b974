import { RequestError } from '../errors.js';

/**
 * Where a protocol's JSON body keeps its instances: `pick` reads them from a parsed body; `paths` are the
 * arrays the streaming parser may take them from (`[]` is a bare array), for bodies too large to parse whole.
 */
export interface JsonBodyShape {
  pick(body: unknown): unknown[];
  paths: readonly (readonly string[])[];
  /** The error when no such array is there. */
  missing: string;
}

const INSTANCES_MISSING = 'expected a JSON object {"instances": [...]}';
/** KServe v1 and Vertex AI: `{"instances": [...]}` (other fields, such as Vertex's "parameters", ignored). */
export const INSTANCES_BODY: JsonBodyShape = {
  pick(body) {
    const instances = (body as { instances?: unknown } | null)?.instances;
    if (!Array.isArray(instances)) throw new RequestError(INSTANCES_MISSING);
    return instances;
  },
  paths: [['instances']],
  missing: INSTANCES_MISSING,
};

const SAGEMAKER_MISSING = 'expected {"instances": [...]} or a JSON array of instances';
/** SageMaker /invocations: `{"instances": [...]}` or a bare array. */
export const SAGEMAKER_BODY: JsonBodyShape = {
  pick(body) {
    if (Array.isArray(body)) return body;
    const instances = (body as { instances?: unknown } | null)?.instances;
    if (!Array.isArray(instances)) throw new RequestError(SAGEMAKER_MISSING);
    return instances;
  },
  paths: [[], ['instances']],
  missing: SAGEMAKER_MISSING,
};

const AZURE_MISSING =
  'expected {"instances": [...]}, {"data": [...]} or {"input_data": [...]} (or input_data as {"columns","data"})';
/** Azure ML: `{"instances"}`, `{"data"}`, `{"input_data"}` as a list, or `input_data` in pandas split form. */
export const AZURE_BODY: JsonBodyShape = {
  pick(body) {
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      const fields = body as Record<string, unknown>;
      for (const key of ['instances', 'data', 'input_data']) {
        const value = fields[key];
        if (Array.isArray(value)) return value;
      }
      const split = fields['input_data'] as { data?: unknown } | undefined;
      if (typeof split === 'object' && split !== null && Array.isArray(split.data)) return split.data;
    }
    throw new RequestError(AZURE_MISSING);
  },
  paths: [['instances'], ['data'], ['input_data'], ['input_data', 'data']],
  missing: AZURE_MISSING,
};
