import { formatCsvPredictions } from '../csv.js';
import { RequestError } from '../errors.js';
import type { ServedModel } from '../onnx-model.js';
import type { BodyFormat } from './content-negotiation.js';

/**
 * Text around the pieces of a response body: JSON is `{"predictions":[...]}`; JSON Lines (one prediction
 * per line, newline-terminated, what Batch Transform's AssembleWith: Line expects) and CSV (one row per
 * record) are the pieces alone.
 */
export function bodyOpening(format: BodyFormat): string {
  return format === 'json' ? '{"predictions":[' : '';
}

export function bodyClosing(format: BodyFormat): string {
  return format === 'json' ? ']}' : '';
}

/** The predictions of `instances` as the whole response body in `format`. */
export async function predictionBody(
  model: ServedModel,
  format: BodyFormat,
  instances: unknown[],
  signal?: AbortSignal,
): Promise<string> {
  if (format === 'json') return `{"predictions":${await predictionsJson(model, instances, signal)}}`;
  return predictionPiece(model, format, instances, true, signal);
}

/**
 * One piece of a body streamed in several: the predictions of `instances`. Pieces go between
 * `bodyOpening` and `bodyClosing`; `first` is false for every piece after the first.
 */
export async function predictionPiece(
  model: ServedModel,
  format: BodyFormat,
  instances: unknown[],
  first: boolean,
  signal?: AbortSignal,
): Promise<string> {
  switch (format) {
    case 'json': {
      const text = await predictionsJson(model, instances, signal);
      return first ? text.slice(1, -1) : `,${text.slice(1, -1)}`;
    }
    case 'csv':
      return formatCsvPredictions(await model.predictInstances(instances, signal));
    case 'jsonl': {
      let text = '';
      for (const prediction of await model.predictInstances(instances, signal))
        text += `${JSON.stringify(prediction)}\n`;
      return text;
    }
  }
}

function predictionsJson(model: ServedModel, instances: unknown[], signal?: AbortSignal): Promise<string> {
  return model.predictInstancesJson !== undefined
    ? model.predictInstancesJson(instances, signal)
    : model.predictInstances(instances, signal).then((p) => JSON.stringify(p));
}

/** A model error about `instance i` of a piece, renumbered for the whole body (`offset` rows before it). */
export function renumberInstanceError(error: unknown, offset: number): unknown {
  if (offset === 0 || !RequestError.is(error)) return error;
  const match = /^instance (\d+): /.exec(error.message);
  if (match === null) return error;
  const index = Number(match[1]) + offset;
  return new RequestError(`instance ${index}: ${error.message.slice(match[0].length)}`, error.code, {
    cause: error,
  });
}
