// The README's API example: deploy the iris endpoint from code, invoke it, read the plan, tear it down.
import { fileURLToPath } from 'node:url';
import { createModelport, deploy, invoke } from 'modelport';

const manifest = fileURLToPath(new URL('../iris/endpoint.yaml', import.meta.url));

export async function main(): Promise<unknown> {
  await deploy(manifest);
  const answer = await invoke(manifest, {
    body: Buffer.from(JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]] })),
    contentType: 'application/json',
  });

  const events: string[] = [];
  const mp = createModelport({ onEvent: (event) => events.push(event.type) });
  const plans = await mp.plan(manifest); // desired vs live, per resource: all no-op now
  await mp.destroy(manifest);
  return {
    status: answer.status,
    body: JSON.parse(Buffer.from(answer.body).toString('utf8')) as unknown,
    plans,
    events,
  };
}
