import {
  BadRequestException,
  Controller,
  Get,
  Header,
  HttpCode,
  Inject,
  NotFoundException,
  NotImplementedException,
  Param,
  Post,
  Req,
  Sse,
  UseGuards,
  type MessageEvent,
} from '@nestjs/common';
import { map, type Observable } from 'rxjs';
import type { DashboardSnapshot } from './dashboard-snapshot.interface.js';
import { DashboardAssets } from './dashboard.assets.js';
import { DashboardActionGuard, DashboardReadGuard } from './dashboard.guards.js';
import { DashboardTracker } from './dashboard.tracker.js';

/**
 * The page admits only its own script and style: a task name or error that
 * slipped through as markup still could not run (the page renders all of
 * them as text).
 */
const PAGE_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The id of a task or dead letter in a URL: bounded, so a 1 MB id is refused before any store sees it. */
function taskId(id: string): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > 512) {
    throw new BadRequestException('A task id of 1 to 512 characters is expected.');
  }
  return id;
}

/**
 * The dashboard's routes, below the path given to `forRoot()` (set by
 * RouterModule): the page, its files, a snapshot, the live updates (SSE),
 * and the actions behind the app's guard.
 */
@Controller()
@UseGuards(DashboardReadGuard)
export class DashboardController {
  constructor(
    @Inject(DashboardTracker) private readonly tracker: DashboardTracker,
    @Inject(DashboardAssets) private readonly assets: DashboardAssets,
  ) {}

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-store')
  @Header('content-security-policy', PAGE_POLICY)
  @Header('x-content-type-options', 'nosniff')
  page(@Req() request: { originalUrl?: string; url?: string }): string {
    const url = request.originalUrl ?? request.url ?? '/';
    return this.assets.page(new URL(url, 'http://localhost').pathname);
  }

  @Get('assets/dashboard.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'no-cache')
  @Header('x-content-type-options', 'nosniff')
  script(): string {
    return this.assets.script;
  }

  @Get('assets/dashboard.css')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'no-cache')
  @Header('x-content-type-options', 'nosniff')
  style(): string {
    return this.assets.style;
  }

  @Get('state')
  @Header('cache-control', 'no-store')
  state(): Promise<DashboardSnapshot> {
    return this.tracker.snapshot();
  }

  /** One update about every `intervalMs` while the page is open; Nest unsubscribes when it closes. */
  @Sse('events')
  events(): Observable<MessageEvent> {
    return this.tracker.live$.pipe(map((data) => ({ data })));
  }

  @Post('actions/pause')
  @HttpCode(200)
  @UseGuards(DashboardActionGuard)
  pause(): { loop: string } {
    this.tracker.workers.pause();
    return { loop: this.tracker.workers.stats().loop };
  }

  @Post('actions/resume')
  @HttpCode(200)
  @UseGuards(DashboardActionGuard)
  resume(): { loop: string } {
    this.tracker.workers.resume();
    return { loop: this.tracker.workers.stats().loop };
  }

  @Post('actions/dead-letters/:id/retry')
  @HttpCode(200)
  @UseGuards(DashboardActionGuard)
  async retry(@Param('id') id: string): Promise<{ retried: true }> {
    const store = this.tracker.taskStore;
    if (typeof store?.retryDeadLetter !== 'function') {
      throw new NotImplementedException(
        "This task client's store cannot retry dead letters (it has no retryDeadLetter()).",
      );
    }
    if (!(await store.retryDeadLetter(taskId(id)))) {
      throw new NotFoundException(
        'No such dead letter: it was retried already, removed after its retention, or never failed.',
      );
    }
    return { retried: true };
  }

  @Post('actions/tasks/:id/cancel')
  @HttpCode(200)
  @UseGuards(DashboardActionGuard)
  async cancel(@Param('id') id: string): Promise<{ cancelled: true }> {
    if (!this.tracker.canCancel) {
      throw new NotImplementedException(
        'Tasks cannot be cancelled here: neither WorkerManager nor the task client has cancel().',
      );
    }
    if (!(await this.tracker.cancel(taskId(id)))) {
      throw new NotFoundException('No such task to cancel: it finished already, or is unknown.');
    }
    return { cancelled: true };
  }
}
