import {
  ForbiddenException,
  Inject,
  Injectable,
  Optional,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { DASHBOARD_ACTION_GUARD, DASHBOARD_ACTION_HEADER, DASHBOARD_READ_GUARD } from './dashboard.constants.js';

type Headers = Record<string, string | string[] | undefined>;

/**
 * The dashboard's actions: refused (403) without the app's `guard`, and
 * without the page's action header; otherwise the app's guard decides.
 */
@Injectable()
export class DashboardActionGuard implements CanActivate {
  constructor(@Optional() @Inject(DASHBOARD_ACTION_GUARD) private readonly guard?: CanActivate) {}

  canActivate(context: ExecutionContext) {
    if (!this.guard) {
      throw new ForbiddenException(
        'Dashboard actions are disabled: WorkerDashboardModule.forRoot() was given no guard. Pass guard: YourAdminGuard to allow them to the users it admits.',
      );
    }
    const headers = context.switchToHttp().getRequest<{ headers?: Headers }>().headers ?? {};
    if (headers[DASHBOARD_ACTION_HEADER] !== '1') {
      throw new ForbiddenException(
        `Dashboard actions need the header "${DASHBOARD_ACTION_HEADER}: 1" (the dashboard page sends it; a cross-site form cannot).`,
      );
    }
    return this.guard.canActivate(context);
  }
}

/** The dashboard's page and data: the app's `readGuard` decides, or anyone may read. */
@Injectable()
export class DashboardReadGuard implements CanActivate {
  constructor(@Optional() @Inject(DASHBOARD_READ_GUARD) private readonly guard?: CanActivate) {}

  canActivate(context: ExecutionContext) {
    return this.guard ? this.guard.canActivate(context) : true;
  }
}
