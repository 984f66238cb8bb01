import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit, Optional } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { WorkerStats } from '../interfaces/worker-stats.interface.js';
import { isPoolThread } from '../thread/is-pool-thread.js';
import { WorkerManager } from '../worker.manager.js';
import { WorkerOrchestrator } from '../worker.orchestrator.js';
import { OtelInstrumentation } from './otel.instrumentation.js';
import { meterOf, TracerSource } from './provider.source.js';
import { propagateTraceContextOnEnqueue } from './trace-context.propagation.js';
import { WORKER_TELEMETRY_OPTIONS, type WorkerTelemetryOptions } from './worker-telemetry-options.interface.js';
import { WorkerMetrics } from './worker.metrics.js';

/**
 * Connects the worker module of this application to OpenTelemetry: sets the
 * engine's instrumentation (spans and metrics) and, unless told not to,
 * stores the active trace context with every task enqueued here.
 */
@Injectable()
export class WorkerTelemetry implements OnModuleInit, OnModuleDestroy {
  private undo: Array<() => void> = [];

  constructor(
    private readonly moduleRef: ModuleRef,
    @Optional() @Inject(WORKER_TELEMETRY_OPTIONS) private readonly options: WorkerTelemetryOptions = {},
  ) {}

  onModuleInit(): void {
    if (isPoolThread()) return;
    const options = this.options ?? {};
    const orchestrator = this.moduleRef.get(WorkerOrchestrator, { strict: false });
    const manager = this.moduleRef.get(WorkerManager, { strict: false });
    const stats = (): WorkerStats | undefined => (orchestrator.engine ? manager.stats() : undefined);
    const tracers = options.tracing === false ? undefined : new TracerSource(options.tracerProvider);
    const meter = options.metrics === false ? undefined : meterOf(options.meterProvider);
    orchestrator.sink.instrumentation = new OtelInstrumentation(tracers, meter && new WorkerMetrics(meter, stats));
    if (options.propagateOnEnqueue !== false && options.tracing !== false) {
      this.undo.push(propagateTraceContextOnEnqueue());
    }
  }

  onModuleDestroy(): void {
    for (const undo of this.undo.splice(0)) undo();
  }
}
