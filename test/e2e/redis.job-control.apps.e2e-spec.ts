/** Job control on Redis across 3 full Nest apps on one queue: the cases of job-control.apps.ts. */
import { redisStore } from './job-control.fleet.js';
import { jobControlAcrossApps } from './job-control.apps.js';

jobControlAcrossApps(redisStore);
