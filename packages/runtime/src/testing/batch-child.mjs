// Child process for the resumability tests: runs a batch job on the compiled runtime and, when asked,
// SIGKILLs itself on the Nth progress callback (no cleanup, no flush: like a crash).
import { OnnxModel, runBatchFiles } from '../../dist/index.js';

const [modelPath, input, output, batchSize, killOnProgress] = process.argv.slice(2);
const model = await OnnxModel.load(modelPath);
let calls = 0;
process.stdout.write('started\n');
const result = await runBatchFiles({
  model,
  input,
  output,
  batchSize: Number(batchSize),
  onProgress: () => {
    calls++;
    if (Number(killOnProgress) > 0 && calls === Number(killOnProgress)) process.kill(process.pid, 'SIGKILL');
  },
});
process.stdout.write(JSON.stringify(result) + '\n');
await model.close();
