/**
 * What the code itself adds to the traces the instrumentations make (src/telemetry/preload.ts):
 * the traceparent an event is stored with, the span of each subscription delivery linked to it,
 * and spans for work no instrumentation sees (batch records). With tracing off the API is a
 * no-op: no span is valid, nothing is stored, nothing is recorded.
 */
import {
  context,
  isSpanContextValid,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Link,
  type SpanContext,
} from '@opentelemetry/api';

const tracer = trace.getTracer('commsgraph');

/** The W3C traceparent of the active span; null without one (tracing off, or outside any trace). */
export function activeTraceparent(): string | null {
  const span = trace.getActiveSpan()?.spanContext();
  if (!span || !isSpanContextValid(span)) return null;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/** The span context a traceparent names; null for none or a malformed one. */
export function spanContextOf(traceparent: string | null | undefined): SpanContext | null {
  if (!traceparent) return null;
  const ctx = propagation.extract(context.active(), { traceparent });
  const span = trace.getSpanContext(ctx);
  return span && isSpanContextValid(span) ? span : null;
}

/**
 * One subscription delivery of an event: a span of its own (delivery happens long after the
 * change, in another request or process), linked to the trace of the change that caused it.
 */
export function traceDelivery(stream: string, eventId: string, traceparent: string | null | undefined): void {
  const cause = spanContextOf(traceparent);
  const links: Link[] = cause ? [{ context: cause }] : [];
  const span = tracer.startSpan(`deliver ${stream}`, {
    kind: SpanKind.PRODUCER,
    links,
    root: true,
    attributes: { 'commsgraph.stream': stream, 'commsgraph.event_id': eventId },
  });
  span.end();
}

/** Runs `fn` in a span named `name` (work no instrumentation sees); an error marks the span and goes on. */
export async function inSpan<T>(
  name: string,
  attributes: Record<string, string>,
  fn: () => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn();
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}
