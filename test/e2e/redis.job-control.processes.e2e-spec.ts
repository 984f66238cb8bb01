/**
 * Job control across 3 real processes on one Redis queue (issue 14), each a
 * RedisTaskClient of its own: the cases of job-control.processes.ts. The
 * rate grants are read back as the server's own times (the score the script
 * gave each start in the rate window).
 */
import { redisStore } from './job-control.fleet.js';
import { jobControlAcrossProcesses } from './job-control.processes.js';

jobControlAcrossProcesses(redisStore);
