import { createTraceState, isSpanContextValid, type SpanContext } from '@opentelemetry/api';

/**
 * W3C Trace Context as one line of text (see TraceContextText): what travels
 * with a stored task and with a call to its thread. Written and read here,
 * not by the global propagator: a stored task must carry the same thing
 * whatever propagators the producer and the consumer configured, and an
 * application that registered none (they are part of the SDK) still links
 * its traces across the store.
 */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
/** W3C's limit on `tracestate` worth propagating; a longer one is dropped, not cut. */
const MAX_TRACESTATE = 512;

export function formatTraceContext(spanContext: SpanContext): string | undefined {
  if (!isSpanContextValid(spanContext)) return undefined;
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  const parent = `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
  const state = spanContext.traceState?.serialize();
  return state && state.length <= MAX_TRACESTATE && !state.includes('\n') ? `${parent}\n${state}` : parent;
}

/** The remote span context in `text`, or undefined when it is not one (a foreign producer may write anything). */
export function parseTraceContext(text: unknown): SpanContext | undefined {
  if (typeof text !== 'string' || text.length > 56 + MAX_TRACESTATE) return undefined;
  const newline = text.indexOf('\n');
  const match = TRACEPARENT.exec(newline < 0 ? text : text.slice(0, newline));
  if (!match) return undefined;
  const spanContext: SpanContext = {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: parseInt(match[3]!, 16),
    isRemote: true,
  };
  if (!isSpanContextValid(spanContext)) return undefined;
  if (newline >= 0) {
    try {
      spanContext.traceState = createTraceState(text.slice(newline + 1));
    } catch {
      // An unreadable tracestate is dropped; the trace still links.
    }
  }
  return spanContext;
}
