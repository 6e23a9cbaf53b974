import { createJsonLogger, OnnxModel, startServer } from '@modelport/runtime';

/** A running stand-in for an InferenceService's predictor pod. */
export interface FakePredictor {
  url: string;
  stop(): Promise<void>;
}

/**
 * The modelport runtime serving an ONNX file on 127.0.0.1, under `name` — what the modelport serving image
 * does inside the predictor pod. Point the fake API server's `urlFor` at it so `status.url` answers
 * KServe v1 predictions for real.
 */
export async function startFakePredictor(modelPath: string, name: string): Promise<FakePredictor> {
  const model = await OnnxModel.load(modelPath, { name });
  const server = await startServer({ model, port: 0, logger: createJsonLogger({ level: 'silent' }) });
  return {
    url: server.url,
    async stop() {
      await server.close(0);
    },
  };
}
