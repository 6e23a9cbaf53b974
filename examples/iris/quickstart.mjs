#!/usr/bin/env node
// The quick start: deploy the iris classifier on this machine with the local provider, invoke it, and
// print the predictions with their class names. It drives the built CLI, exactly as a user would.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = `${root}packages/cli/dist/bin/modelport.js`;
const manifest = `${here}endpoint.yaml`;

function modelport(...args) {
  console.log(`$ modelport ${args.join(' ').replaceAll(root, '')}`);
  return execFileSync(process.execPath, [cli, ...args], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

process.stdout.write(modelport('apply', manifest, '--yes'));
const classes = JSON.parse(readFileSync(`${here}classes.json`, 'utf8'));
const payload = JSON.parse(readFileSync(`${here}payload.json`, 'utf8'));
const answer = JSON.parse(modelport('invoke', manifest, '--file', `${here}payload.json`, '--output', 'json'));
if (!answer.ok) {
  console.error(`invoke failed: HTTP ${answer.status}`);
  process.exit(1);
}
console.log('\npredictions:');
answer.body.predictions.forEach((prediction, i) => {
  const confidence = (prediction.probabilities[prediction.label] * 100).toFixed(1);
  console.log(`  ${JSON.stringify(payload.instances[i])} → ${classes[prediction.label]} (${confidence}%)`);
});
console.log(`\nlatency ${answer.latencyMs.toFixed(1)} ms. The endpoint keeps running on 127.0.0.1:`);
console.log(`  modelport status examples/iris/endpoint.yaml     # where and how it runs`);
console.log(`  modelport destroy examples/iris/endpoint.yaml    # stop it`);
