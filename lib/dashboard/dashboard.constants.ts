/** The resolved `WorkerDashboardModule.forRoot()` options. */
export const DASHBOARD_OPTIONS = Symbol('nestjs-worker:dashboard-options');
/** The app's guard of the dashboard's actions (`guard`). */
export const DASHBOARD_ACTION_GUARD = Symbol('nestjs-worker:dashboard-action-guard');
/** The app's guard of the dashboard's page and data (`readGuard`). */
export const DASHBOARD_READ_GUARD = Symbol('nestjs-worker:dashboard-read-guard');
/**
 * Header every action request carries (the page sends it). A cross-site form
 * cannot set it, and a cross-site script cannot without a CORS preflight the
 * app does not answer: a guard that trusts a session cookie is not enough
 * for a page on another site to pause the loop.
 */
export const DASHBOARD_ACTION_HEADER = 'x-nestjs-worker-dashboard';
