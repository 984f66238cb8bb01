/**
 * Job control across 3 real processes, each a GrpcTaskClient of ONE
 * GrpcTaskServer (in the test process) serving a Redis queue: the cases of
 * job-control.processes.ts, every store call of the workers going through
 * the server. The rate grants are read back from the same Redis as the
 * store's own times (the score its script gave each start in the window).
 */
import { grpcStore } from './job-control.fleet.js';
import { jobControlAcrossProcesses } from './job-control.processes.js';

jobControlAcrossProcesses(grpcStore('redis'));
