/**
 * Peers, end to end: the same Nest HTTP app doing the heavy requests' work
 * inline on its event loop (`mode: 'inline'`) or as BullMQ jobs run by a
 * sandboxed processor on worker threads and awaited with QueueEvents
 * (`mode: 'bullmq'`, needs Redis). See bench/lib/http.load.mjs.
 */
import { measureHttp } from '../lib/http.load.mjs';
import { subjectMain } from '../lib/subject.mjs';

subjectMain(({ mode, ...args }) => measureHttp(mode, args));
