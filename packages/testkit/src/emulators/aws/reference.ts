import { OnnxModel } from '@modelport/runtime';

/**
 * The reference answer for a SageMaker-style JSON request: the modelport runtime run in this process on the
 * model file (what the local provider serves), as `{"predictions": [...]}`.
 */
export async function referencePredictions(
  modelPath: string,
  instances: unknown[],
): Promise<{ predictions: unknown[] }> {
  const model = await OnnxModel.load(modelPath);
  try {
    return { predictions: await model.predictInstances(instances) };
  } finally {
    await model.close();
  }
}
