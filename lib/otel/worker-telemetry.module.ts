import { Module, type DynamicModule } from '@nestjs/common';
import { ThreadTelemetrySetup } from './thread-telemetry.setup.js';
import { WorkerTelemetry } from './worker-telemetry.js';
import {
  WORKER_TELEMETRY_OPTIONS,
  WORKER_THREAD_TELEMETRY_OPTIONS,
  type WorkerTelemetryOptions,
  type WorkerThreadTelemetryOptions,
} from './worker-telemetry-options.interface.js';

/**
 * OpenTelemetry for nestjs-worker, through `@opentelemetry/api` only: the
 * application brings its SDK.
 *
 * ```ts
 * // app.module.ts (main thread): spans per attempt, metrics, trace context stored on enqueue
 * imports: [WorkerModule.forRoot({ ... }), WorkerTelemetryModule.forRoot()]
 * // tasks.module.ts (booted by every worker thread): each thread's own SDK
 * imports: [WorkerTelemetryModule.forThreads({ setup: () => startThreadTracing() })]
 * ```
 */
@Module({})
export class WorkerTelemetryModule {
  /** In the application's root module, next to `WorkerModule.forRoot()`. */
  static forRoot(options: WorkerTelemetryOptions = {}): DynamicModule {
    return {
      module: WorkerTelemetryModule,
      providers: [{ provide: WORKER_TELEMETRY_OPTIONS, useValue: options }, WorkerTelemetry],
      exports: [WorkerTelemetry],
    };
  }

  /**
   * In the tasks module the worker threads boot: the spans handlers open
   * become children of their attempt's span. Does nothing in the main thread.
   */
  static forThreads(options: WorkerThreadTelemetryOptions = {}): DynamicModule {
    return {
      module: WorkerTelemetryModule,
      providers: [{ provide: WORKER_THREAD_TELEMETRY_OPTIONS, useValue: options }, ThreadTelemetrySetup],
    };
  }
}
