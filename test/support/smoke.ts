import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { threadId } from 'node:worker_threads';
import { WorkerModule, WorkerManager, InMemoryTaskClient } from '../../lib/index.js';
import { ChaosTasksModule } from '../fixtures/chaos.tasks.js';

const file = new URL('../fixtures/chaos.tasks.js', import.meta.url);

@Module({
  imports: [ChaosTasksModule, WorkerModule.forRoot({ tasksModule: { module: ChaosTasksModule, file }, workers: 2 })],
})
class AppModule {}

const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn', 'log'] });
const wm = app.get(WorkerManager);
console.log('main', threadId, await wm.run('whoami'));
console.log(await wm.run('add', { a: 2, b: 3 }));
try {
  await wm.run('decline', { code: 'x' });
} catch (e) {
  console.log('decline', e, Object.keys(e as object));
}
let t = Date.now();
try {
  await wm.run('spin');
} catch (e) {
  console.log('spin', (e as Error).message, Date.now() - t);
}
t = Date.now();
try {
  await wm.run('cooperative');
} catch (e) {
  console.log('coop', (e as Error).message, Date.now() - t);
}
try {
  await wm.run('exit');
} catch (e) {
  console.log('exit', (e as Error).message);
}
try {
  await wm.run('uncaught');
} catch (e) {
  console.log('uncaught', (e as Error).message);
}
try {
  await wm.run('bad-result');
} catch (e) {
  console.log('bad', (e as Error).message);
}
try {
  await wm.run('echo', { f: () => 1 });
} catch (e) {
  console.log('badpayload', (e as Error).message);
}
t = Date.now();
const r = await wm.map(
  'square',
  Array.from({ length: 100000 }, (_, i) => i),
);
console.log('map', r.length, r[99999], Date.now() - t);
t = Date.now();
await Promise.all(Array.from({ length: 20000 }, () => wm.run('noop')));
console.log('20k noop', Date.now() - t, wm.stats());
const client = app.get(InMemoryTaskClient);
const ids = client.enqueueMany(Array.from({ length: 100 }, (_, i) => ({ name: 'echo', payload: `task # ${i}` })));
const rec = await client.waitFor(ids[99]!);
console.log(rec.state, rec.result, client.counts());
await app.close();
console.log('closed');
