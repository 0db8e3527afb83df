import {
  diag,
  DiagLogLevel,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { parseTraceParent, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import {
  defaultResource,
  detectResources,
  resourceAttributesEnvDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
  type SamplingResult,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { redriveHistoryOf } from '../../domain/redrive.js';
import { boundedTraceHeaderText, TRACE_HEADERS, traceparentSampled } from '../../domain/trace-headers.js';
import { classifyError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Outcome } from '../../ports/processing.js';
import type { BatchRecord, IncomingRecord } from '../../ports/records.js';
import {
  MAX_SPAN_LINKS,
  type RecordSpan,
  type RolledBack,
  type TraceContext,
  type TraceSpan,
  type Tracing,
} from '../../ports/tracing.js';
import { headerGetter, headerSetter } from './kafka-headers.js';
import { ATTR, KAFKA } from './semconv.js';

/** The OTEL_TRACES_SAMPLER values (the SDK environment specification's names). */
export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

/** A key longer than an order id (64 bytes) is a hostile writer's: it is not copied onto a span. */
const MAX_KEY_BYTES = 64;
/** How long a shutdown waits for the last spans to be exported: a small part of the graceful shutdown (SHUTDOWN_TIMEOUT_MS). */
const EXPORT_ON_SHUTDOWN_MS = 2000;

const isSampled = (context: TraceContext): boolean => (context.traceFlags & TraceFlags.SAMPLED) !== 0;

/**
 * The `parentbased_*` samplers, extended to the spans that have links instead of a parent (the
 * consumer's run of orders, the producer's send of them): such a span follows its messages, recorded
 * when at least one of them is sampled and not otherwise, whatever the ratio. Any other span is left
 * to the parent-based sampler. Only sampled messages are linked (OtelTracing sees to it).
 */
export class FollowLinksSampler implements Sampler {
  constructor(private readonly parentBased: ParentBasedSampler) {}

  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    if (links.length > 0 && trace.getSpanContext(context) === undefined)
      return {
        decision: links.some((link) => isSampled(link.context))
          ? SamplingDecision.RECORD_AND_SAMPLED
          : SamplingDecision.NOT_RECORD,
      };
    return this.parentBased.shouldSample(context, traceId, spanName, spanKind, attributes, links);
  }

  toString(): string {
    return `FollowLinksSampler{${this.parentBased.toString()}}`;
  }
}

export function samplerFor(name: SamplerName, ratio: number | undefined): Sampler {
  const byRatio = () => new TraceIdRatioBasedSampler(ratio ?? 1);
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return byRatio();
    case 'parentbased_always_off':
      return new FollowLinksSampler(new ParentBasedSampler({ root: new AlwaysOffSampler() }));
    case 'parentbased_traceidratio':
      return new FollowLinksSampler(new ParentBasedSampler({ root: byRatio() }));
    case 'parentbased_always_on':
      return new FollowLinksSampler(new ParentBasedSampler({ root: new AlwaysOnSampler() }));
  }
}

/** A span that is not recorded: what a send none of whose orders is sampled gets. */
const UNRECORDED: TraceSpan = { inject: () => undefined, end: () => undefined };

export interface OtelTracingOptions {
  /** The process's `service.name`, unless OTEL_RESOURCE_ATTRIBUTES names one. */
  readonly serviceName: string;
  /** OTEL_SERVICE_NAME: the `service.name`, whatever else names one. */
  readonly serviceNameOverride?: string | undefined;
  /** Where finished spans go: a BatchSpanProcessor to an exporter (tests: an in-memory one). */
  readonly processor: SpanProcessor;
  /**
   * Default: parent-based, always on (the SDK's default), following links (FollowLinksSampler). With a
   * FollowLinksSampler, runs and sends follow their orders' sampling; with any other, the sampler
   * decides them as new traces and they link every order.
   */
  readonly sampler?: Sampler;
  /** The consumer group, on the consumer's spans. */
  readonly groupId?: string;
  /** Where the consumer's dead letters go, the name of their `send` spans. */
  readonly deadLetterTopic?: string;
}

/**
 * Tracing with the OpenTelemetry SDK. Each instance has its own provider, tracer and propagator: none
 * is registered globally. (The one global it touches is otlpTracing's: the SDK's diagnostics logger.)
 */
export class OtelTracing implements Tracing {
  readonly #provider: TracerProvider;
  readonly #tracer: Tracer;
  readonly #propagator = new W3CTraceContextPropagator();
  readonly #o: OtelTracingOptions;
  /** Runs and sends follow their orders' sampled flag (a parent-based sampler, the default). */
  readonly #followsOrders: boolean;

  constructor(options: OtelTracingOptions) {
    this.#o = options;
    const sampler = options.sampler ?? samplerFor('parentbased_always_on', undefined);
    this.#followsOrders = sampler instanceof FollowLinksSampler;
    // The role's name, then OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME: the specification's order.
    let resource = defaultResource()
      .merge(resourceFromAttributes({ [ATTR.serviceName]: options.serviceName }))
      .merge(detectResources({ detectors: [resourceAttributesEnvDetector] }));
    if (options.serviceNameOverride !== undefined)
      resource = resource.merge(resourceFromAttributes({ [ATTR.serviceName]: options.serviceNameOverride }));
    this.#provider = new TracerProvider({
      resource,
      spanProcessors: [options.processor],
      sampler,
      spanLimits: { linkCountLimit: MAX_SPAN_LINKS },
    });
    this.#tracer = this.#provider.getTracer('kafka-order-system');
  }

  createOrder(topic: string, key: string, headers: Record<string, Buffer>): TraceContext {
    const span = this.#tracer.startSpan(
      `create ${topic}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: { ...messaging('create', topic), [ATTR.kafkaMessageKey]: key },
      },
      ROOT_CONTEXT,
    );
    this.#inject(span, headers);
    span.end();
    return span.spanContext();
  }

  startSend(topic: string, created: readonly TraceContext[]): TraceSpan {
    // Following its orders: linked to the sampled ones, and not recorded when none is.
    const linked = this.#followsOrders ? created.filter(isSampled) : created;
    if (linked.length === 0 && created.length > 0) return UNRECORDED;
    const span = this.#tracer.startSpan(
      `send ${topic}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { ...messaging('send', topic), [ATTR.batchMessageCount]: created.length },
        links: linked.map((context) => ({ context })),
      },
      ROOT_CONTEXT,
    );
    return new OtelSpan(span, (s, headers) => this.#inject(s, headers));
  }

  processedRun(
    batch: { readonly topic: string; readonly partition: number },
    records: readonly BatchRecord[],
    from: number,
    to: number,
    startedAt: number,
    finishedAt: number,
    rolledBack?: RolledBack,
  ): void {
    let links: Link[] | undefined;
    if (this.#followsOrders) {
      // One byte of each order's traceparent says whether its producer sampled it; only those are
      // parsed and linked. A run none of whose orders is sampled makes no span at all; a run of orders
      // without any trace context (a producer that does not trace) is a new trace, sampled as such.
      links = [];
      let unsampled = false;
      for (let index = from; index <= to; index += 1) {
        const headers = records[index]?.headers;
        const sampled = traceparentSampled(headers);
        if (sampled === undefined) continue;
        if (!sampled) {
          unsampled = true;
          continue;
        }
        const context = parseTraceParent(boundedTraceHeaderText(headers, TRACE_HEADERS.parent) ?? '');
        if (context) links.push({ context });
      }
      if (links.length === 0 && unsampled) return;
    }
    const span = this.#tracer.startSpan(
      `process ${batch.topic}`,
      { kind: SpanKind.CONSUMER, startTime: startedAt, ...(links ? { links } : {}) },
      ROOT_CONTEXT,
    );
    if (!span.isRecording()) return;
    span.setAttributes(this.#consuming(batch.topic, batch.partition));
    span.setAttribute(ATTR.batchMessageCount, to - from + 1);
    span.setAttribute(ATTR.firstOffset, Number(records[from]?.offset));
    span.setAttribute(ATTR.lastOffset, Number(records[to]?.offset));
    if (links === undefined) {
      // Another sampler decided the run as a new trace: every order with a trace context is linked.
      for (let index = from; index <= to; index += 1) {
        const traceparent = boundedTraceHeaderText(records[index]?.headers, TRACE_HEADERS.parent);
        const context = traceparent === undefined ? null : parseTraceParent(traceparent);
        if (context) span.addLink({ context });
      }
    }
    if (rolledBack) rollBack(span, rolledBack);
    span.end(finishedAt);
  }

  startProcess(record: IncomingRecord, startedAt: number, attempt: number): RecordSpan {
    const parent = this.#propagator.extract(ROOT_CONTEXT, record.headers ?? {}, headerGetter);
    const span = this.#tracer.startSpan(
      `process ${record.topic}`,
      { kind: SpanKind.CONSUMER, startTime: startedAt },
      parent,
    );
    // Attributes are made only for a span that is recorded.
    if (span.isRecording()) {
      const attributes = this.#consuming(record.topic, record.partition);
      attributes[ATTR.kafkaOffset] = Number(record.offset);
      attributes[ATTR.attempt] = attempt;
      if (record.key && record.key.length <= MAX_KEY_BYTES)
        attributes[ATTR.kafkaMessageKey] = record.key.toString('utf8');
      const redrive = redriveHistoryOf(record.headers);
      if (redrive) attributes[ATTR.redriveCount] = redrive.count;
      span.setAttributes(attributes);
    }
    return new OtelRecordSpan(span, (headers) => this.#startDeadLetter(span, headers));
  }

  startRedrive(topic: string, headers: Record<string, Buffer>): TraceSpan {
    const parent = this.#propagator.extract(ROOT_CONTEXT, headers, headerGetter);
    const attributes = messaging('send', topic);
    const redrive = redriveHistoryOf(headers);
    if (redrive) attributes[ATTR.redriveCount] = redrive.count;
    const span = this.#tracer.startSpan(`send ${topic}`, { kind: SpanKind.PRODUCER, attributes }, parent);
    this.#inject(span, headers);
    return new OtelSpan(span, (s, h) => this.#inject(s, h));
  }

  /** Bounded by EXPORT_ON_SHUTDOWN_MS; an export still under way may hold the event loop for up to its own timeout, so a process exits explicitly after this. */
  async shutdown(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, EXPORT_ON_SHUTDOWN_MS);
      timer.unref();
    });
    // A receiver that is down must not hold a process's exit: what is not exported by then is lost.
    await Promise.race([this.#provider.shutdown().catch(() => undefined), late]);
    clearTimeout(timer);
  }

  #startDeadLetter(parent: Span, headers: Record<string, Buffer>): DeadLetterSpan {
    const topic = this.#o.deadLetterTopic ?? 'dead-letter';
    const span = this.#tracer.startSpan(
      `send ${topic}`,
      { kind: SpanKind.PRODUCER, attributes: messaging('send', topic) },
      trace.setSpan(ROOT_CONTEXT, parent),
    );
    this.#inject(span, headers);
    return new DeadLetterSpan(span, (s, h) => this.#inject(s, h));
  }

  #consuming(topic: string, partition: number): Attributes {
    const attributes = messaging('process', topic);
    attributes[ATTR.partitionId] = String(partition);
    if (this.#o.groupId !== undefined) attributes[ATTR.consumerGroup] = this.#o.groupId;
    return attributes;
  }

  /** The span's context replaces any trace context `headers` carried (the one it was continued from). */
  #inject(span: Span, headers: Record<string, Buffer>): void {
    // TRACE_PARENT_HEADER and TRACE_STATE_HEADER, by name: the propagator writes a tracestate only when
    // the new context has one, and a stale one must not stay beside the new traceparent.
    delete headers.traceparent;
    delete headers.tracestate;
    this.#propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, headerSetter);
  }
}

function messaging(operation: 'create' | 'send' | 'process', topic: string): Attributes {
  return {
    [ATTR.messagingSystem]: KAFKA,
    [ATTR.operationType]: operation,
    [ATTR.operationName]: operation,
    [ATTR.destinationName]: topic,
  };
}

/** Marks a span failed with our error code as `error.type`. */
function fail(span: Span, code: string, message: string): void {
  span.setAttribute(ATTR.errorType, code);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/**
 * Marks a span whose unit did not commit: `kos.rolled_back` names why, its status is ERROR, and
 * `error.type` (unless its own failure set one) is that code. Its records are taken again.
 */
function rollBack(span: Span, why: RolledBack, failed = false): void {
  span.setAttribute(ATTR.rolledBack, why.code);
  if (failed) return;
  fail(span, why.code, `rolled back, taken again: ${why.message}`);
}

class OtelSpan implements TraceSpan {
  constructor(
    private readonly span: Span,
    private readonly injector: (span: Span, headers: Record<string, Buffer>) => void,
  ) {}

  inject(headers: Record<string, Buffer>): void {
    this.injector(this.span, headers);
  }

  end(error?: unknown): void {
    if (error !== undefined) {
      const failure = classifyError(error);
      fail(this.span, failure.code, failure.message);
    }
    this.span.end();
  }
}

/**
 * A dead letter's `send` span: its end() notes when and how the write ended, and the span ends with
 * its record's, once the unit is closed, so that a dead letter whose transaction was aborted does not
 * show as written.
 */
class DeadLetterSpan implements TraceSpan {
  #ended: { readonly at: number; readonly error: unknown } | undefined;

  constructor(
    private readonly span: Span,
    private readonly injector: (span: Span, headers: Record<string, Buffer>) => void,
  ) {}

  inject(headers: Record<string, Buffer>): void {
    this.injector(this.span, headers);
  }

  end(error?: unknown): void {
    this.#ended ??= { at: performance.now(), error };
  }

  /** With its record's span. */
  close(rolledBack: RolledBack | undefined): void {
    const ended = this.#ended ?? { at: performance.now(), error: undefined };
    const failed = ended.error !== undefined;
    if (failed) {
      const failure = classifyError(ended.error);
      fail(this.span, failure.code, failure.message);
    }
    if (rolledBack) rollBack(this.span, rolledBack, failed);
    this.span.end(ended.at);
  }
}

class OtelRecordSpan implements RecordSpan {
  #deadLetters: DeadLetterSpan[] | undefined;
  #ended = false;

  constructor(
    private readonly span: Span,
    private readonly deadLetter: (headers: Record<string, Buffer>) => DeadLetterSpan,
  ) {}

  startDeadLetter(headers: Record<string, Buffer>): TraceSpan {
    const span = this.deadLetter(headers);
    (this.#deadLetters ??= []).push(span);
    return span;
  }

  end(outcome: Outcome | undefined, rolledBack?: RolledBack): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#deadLetters) for (const deadLetter of this.#deadLetters) deadLetter.close(rolledBack);
    if (!this.span.isRecording()) {
      this.span.end();
      return;
    }
    const failed = outcome !== undefined && outcome.kind !== 'processed';
    if (outcome) {
      this.span.setAttribute(ATTR.outcome, outcome.kind);
      if (outcome.kind !== 'processed') fail(this.span, outcome.failure.code, outcome.failure.message);
    }
    if (rolledBack) rollBack(this.span, rolledBack, failed);
    this.span.end(outcome?.finishedAt);
  }
}

export interface OtlpTracingOptions extends Omit<OtelTracingOptions, 'processor' | 'sampler'> {
  /** The full URL spans are posted to. */
  readonly endpoint: string;
  readonly sampler: SamplerName;
  readonly samplerRatio: number | undefined;
  readonly logger: Logger;
}

/**
 * Spans in batches to an OTLP/HTTP (protobuf) receiver. The exporter reads the rest of its settings
 * from the standard variables itself (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION, _CERTIFICATE).
 */
export function otlpTracing(options: OtlpTracingOptions): OtelTracing {
  const { logger } = options;
  // The SDK reports export failures through its diagnostics logger: ours, at warn (an unreachable
  // receiver says so, at the pace of the batches). That logger is global to the process (the API's
  // `diag`): the one global this sets, once per process, as each process makes one tracing.
  diag.setLogger(
    {
      error: (message) => logger.warn({ otel: 'error' }, `OpenTelemetry: ${message}`),
      warn: (message) => logger.warn(`OpenTelemetry: ${message}`),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  return new OtelTracing({
    ...options,
    sampler: samplerFor(options.sampler, options.samplerRatio),
    processor: new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: options.endpoint }) }),
  });
}
