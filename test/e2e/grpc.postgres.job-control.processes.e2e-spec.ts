/**
 * Job control across 3 real processes, each a GrpcTaskClient of ONE
 * GrpcTaskServer (in the test process) serving a PostgreSQL queue: the cases
 * of job-control.processes.ts, every store call of the workers going through
 * the server. The rate grants are bracketed by the clock of the same
 * database, read just before and after the remote acquirePermits().
 */
import { grpcStore } from './job-control.fleet.js';
import { jobControlAcrossProcesses } from './job-control.processes.js';

jobControlAcrossProcesses(grpcStore('postgres'));
