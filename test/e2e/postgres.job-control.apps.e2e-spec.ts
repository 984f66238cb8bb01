/**
 * Job control on PostgreSQL across 3 full Nest apps on one queue: the cases
 * of job-control.apps.ts. PostgreSQL keeps a schedule marker, so its
 * schedule case also counts the fires against the ticks the marker passed.
 */
import { postgresStore } from './job-control.fleet.js';
import { jobControlAcrossApps } from './job-control.apps.js';

jobControlAcrossApps(postgresStore);
