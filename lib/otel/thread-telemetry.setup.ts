import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit, Optional } from '@nestjs/common';
import { isPoolThread } from '../thread/is-pool-thread.js';
import { runHandlersInTraceContext } from './trace-context.propagation.js';
import {
  WORKER_THREAD_TELEMETRY_OPTIONS,
  type WorkerThreadTelemetryOptions,
} from './worker-telemetry-options.interface.js';

/**
 * In a worker thread: runs the application's setup (its SDK for this
 * thread), then has every handler run inside its attempt's trace context.
 * Nest initialises it while the thread boots, before the thread reports
 * ready, so no task runs before it.
 */
@Injectable()
export class ThreadTelemetrySetup implements OnModuleInit, OnModuleDestroy {
  private undo?: () => void;

  constructor(
    @Optional() @Inject(WORKER_THREAD_TELEMETRY_OPTIONS) private readonly options: WorkerThreadTelemetryOptions = {},
  ) {}

  async onModuleInit(): Promise<void> {
    if (!isPoolThread()) return;
    await this.options?.setup?.();
    this.undo = runHandlersInTraceContext();
  }

  onModuleDestroy(): void {
    this.undo?.();
  }
}
