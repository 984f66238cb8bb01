import { Module, type CanActivate, type DynamicModule, type Provider, type Type } from '@nestjs/common';
import { RouterModule } from '@nestjs/core';
import { DashboardAssets } from './dashboard.assets.js';
import { DASHBOARD_ACTION_GUARD, DASHBOARD_OPTIONS, DASHBOARD_READ_GUARD } from './dashboard.constants.js';
import { DashboardController } from './dashboard.controller.js';
import { DashboardActionGuard, DashboardReadGuard } from './dashboard.guards.js';
import { DashboardTracker } from './dashboard.tracker.js';
import {
  resolveDashboardOptions,
  type DashboardGuard,
  type WorkerDashboardOptions,
} from './worker-dashboard-options.interface.js';

function guardProviders(
  token: symbol,
  guard: DashboardGuard | undefined,
  declared: Set<Type<CanActivate>>,
): Provider[] {
  if (!guard) return [];
  if (typeof guard !== 'function') return [{ provide: token, useValue: guard }];
  // One instance when the same class guards reads and actions.
  const providers: Provider[] = declared.has(guard) ? [] : [guard];
  declared.add(guard);
  return [...providers, { provide: token, useExisting: guard }];
}

/**
 * `nestjs-worker/dashboard`: one page that shows the worker pool live
 * (threads, utilization, queue depth and rates with a chart, running tasks
 * with progress, recent failures and dead letters with their errors) and
 * offers actions (retry a dead letter, cancel a task, pause and resume the
 * loop) to the users the app's `guard` admits, and to nobody without one.
 *
 * ```ts
 * @Module({
 *   imports: [
 *     WorkerModule.forRoot({ ... }),
 *     WorkerDashboardModule.forRoot({ path: 'workers', guard: AdminGuard, readGuard: AdminGuard }),
 *   ],
 * })
 * export class AppModule {}
 * ```
 *
 * The page is static HTML, script and style shipped in the package (no
 * build step); updates arrive over server-sent events about once a second
 * while a page is open, and nothing is gathered while none is.
 */
@Module({})
export class WorkerDashboardModule {
  static forRoot(options: WorkerDashboardOptions = {}): DynamicModule {
    const resolved = resolveDashboardOptions(options);
    const declared = new Set<Type<CanActivate>>();
    return {
      module: WorkerDashboardModule,
      // RouterModule puts the controller below `path` (Nest's documented way
      // for a module to set its controllers' path, @nestjs/core 8 onwards).
      imports: [
        ...(resolved.imports ?? []),
        RouterModule.register([{ path: resolved.path, module: WorkerDashboardModule }]),
      ],
      controllers: [DashboardController],
      providers: [
        { provide: DASHBOARD_OPTIONS, useValue: resolved },
        ...guardProviders(DASHBOARD_ACTION_GUARD, resolved.guard, declared),
        ...guardProviders(DASHBOARD_READ_GUARD, resolved.readGuard, declared),
        DashboardTracker,
        DashboardAssets,
        DashboardActionGuard,
        DashboardReadGuard,
      ],
    };
  }
}
