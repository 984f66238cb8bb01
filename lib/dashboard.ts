/**
 * `nestjs-worker/dashboard`: a page that shows the worker pool live, with
 * actions behind a guard the app supplies. Needs an HTTP platform
 * (`@nestjs/platform-express`, or Fastify).
 */
export { WorkerDashboardModule } from './dashboard/worker-dashboard.module.js';
export type { WorkerDashboardOptions, DashboardGuard } from './dashboard/worker-dashboard-options.interface.js';
export type {
  DashboardSnapshot,
  DashboardRunningTask,
  DashboardFailure,
  DashboardDeadLetter,
  DashboardError,
} from './dashboard/dashboard-snapshot.interface.js';
export { DASHBOARD_ACTION_HEADER } from './dashboard/dashboard.constants.js';
