import {
  createNoopMeter,
  metrics,
  trace,
  type Meter,
  type MeterProvider,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { INSTRUMENTATION_SCOPE } from './telemetry.names.js';

/** How many calls a tracer lookup is reused for before the global provider is asked again. */
const RECHECK_EVERY = 1024;

/**
 * The tracer to use, or undefined while no tracer provider is registered:
 * then no span is started at all (not even a non-recording one), which is
 * what keeps a `run()` at its cost without telemetry. The global provider is
 * asked again every RECHECK_EVERY calls, so an SDK registered after the
 * application started is picked up.
 */
export class TracerSource {
  private tracer?: Tracer;
  private countdown = 0;

  constructor(private readonly explicit?: TracerProvider) {
    if (explicit) this.tracer = explicit.getTracer(INSTRUMENTATION_SCOPE);
  }

  get(): Tracer | undefined {
    if (this.explicit) return this.tracer;
    if (--this.countdown > 0) return this.tracer;
    this.countdown = RECHECK_EVERY;
    // The global provider is a proxy: its delegate is the SDK's, when one is registered.
    const global = trace.getTracerProvider() as TracerProvider & {
      getDelegateTracer?: (name: string) => Tracer | undefined;
    };
    this.tracer =
      typeof global.getDelegateTracer === 'function'
        ? global.getDelegateTracer(INSTRUMENTATION_SCOPE)
        : global.getTracer(INSTRUMENTATION_SCOPE);
    return this.tracer;
  }
}

/** The meter, or undefined when no meter provider is registered (the metrics API has no proxy: a no-op meter stays one). */
export function meterOf(explicit?: MeterProvider): Meter | undefined {
  const meter = (explicit ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_SCOPE);
  return meter.constructor === createNoopMeter().constructor ? undefined : meter;
}
