/**
 * One consumer process of the scale-out subject (bench/ours/scaleout.mjs),
 * forked by it: boots the app over its own durable client on the shared
 * queue with the loop stopped, says 'ready', starts the loop on 'start',
 * reports every published batch's completed count, and on 'stop' closes and
 * answers with the CPU it spent since 'start'.
 */
import { bootApp } from '../lib/app.mjs';
import { createDurableClient } from '../lib/clients.mjs';

const { backend, url, queue, schema, workers } = JSON.parse(process.argv[2]);
const client = await createDurableClient(backend, url, queue, { schema });
const publish = client.publish.bind(client);
client.publish = async (outcomes) => {
  await publish(outcomes);
  let completed = 0;
  for (const o of outcomes) if (o.status === 'completed') completed++;
  process.send({ kind: 'completed', n: completed });
};
const { app, wm } = await bootApp({ workers, client: { useValue: client }, loop: { autoStart: false } });
let cpu0;
process.on('message', async (message) => {
  if (message.kind === 'start') {
    cpu0 = process.cpuUsage();
    wm.start();
  } else if (message.kind === 'stop') {
    const cpu = process.cpuUsage(cpu0);
    await app.close();
    await client.close?.();
    await client.quit?.();
    process.send({ kind: 'stopped', cpuMs: (cpu.user + cpu.system) / 1000 }, () => process.exit(0));
  }
});
process.send({ kind: 'ready' });
