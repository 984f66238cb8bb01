/** Ours, end to end: a Nest HTTP app offloading each heavy request's ~50 ms of CPU to WorkerManager.run() (bench/lib/http.load.mjs). */
import { measureHttp } from '../lib/http.load.mjs';
import { subjectMain } from '../lib/subject.mjs';

subjectMain((args) => measureHttp('offload', args));
