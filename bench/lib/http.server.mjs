/**
 * The end-to-end HTTP app's process, forked by the load driver
 * (bench/lib/http.load.mjs): boots the app in the mode it is given, sends its
 * port over IPC, and closes the app when told to.
 */
import { fixture } from './paths.mjs';

const { mode, workers, redisUrl } = JSON.parse(process.argv[2]);
const { bootHttpApp } = await import(fixture('http/http.app.js').href);
const { app, port } = await bootHttpApp(mode, { workers, redisUrl });
process.on('message', async (message) => {
  if (message?.kind !== 'close') return;
  await app.close();
  process.exit(0);
});
process.send({ kind: 'listening', port });
