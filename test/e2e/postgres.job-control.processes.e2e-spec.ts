/**
 * Job control across 3 real processes on one PostgreSQL queue, each a
 * PostgresTaskClient of its own (its pool, its LISTEN connection): the
 * cases of job-control.processes.ts. The rate grants are bracketed by the
 * database clock read just before and after acquirePermits().
 */
import { postgresStore } from './job-control.fleet.js';
import { jobControlAcrossProcesses } from './job-control.processes.js';

jobControlAcrossProcesses(postgresStore);
