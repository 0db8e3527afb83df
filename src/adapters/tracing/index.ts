import type { AppConfig } from '../../config/load.js';
import { tracingRequested } from '../../config/otel.js';
import type { Logger } from '../../logger.js';
import type { Tracing } from '../../ports/tracing.js';

/** Where OTLP/HTTP receivers listen for spans when nothing else is said (the specification's default). */
const DEFAULT_TRACES_ENDPOINT = 'http://localhost:4318/v1/traces';

type TracingSettings = Pick<
  AppConfig,
  | 'otelSdkDisabled'
  | 'otelTracesExporter'
  | 'otelEndpoint'
  | 'otelTracesEndpoint'
  | 'otelServiceName'
  | 'otelSampler'
  | 'otelSamplerArg'
  | 'groupId'
  | 'dlqTopic'
> &
  Partial<Pick<AppConfig, 'otelWarnings'>>;

/**
 * The URL spans are posted to, or undefined when tracing is off: it is on only when an OTLP endpoint
 * is set or OTEL_TRACES_EXPORTER names otlp, and OTEL_SDK_DISABLED is not true (config/otel.ts).
 */
export function tracesEndpoint(config: TracingSettings): string | undefined {
  const endpoint =
    config.otelTracesEndpoint ??
    (config.otelEndpoint === undefined ? undefined : `${config.otelEndpoint}/v1/traces`);
  if (!tracingRequested(config, endpoint !== undefined)) return undefined;
  return endpoint ?? DEFAULT_TRACES_ENDPOINT;
}

/**
 * The process's tracing, decided once at startup: undefined when it is off, and then the
 * OpenTelemetry SDK is not even loaded, so tracing that is off costs nothing at all.
 */
export async function createTracing(
  config: TracingSettings,
  /** The `service.name` unless OTEL_SERVICE_NAME (or OTEL_RESOURCE_ATTRIBUTES) gives one. */
  serviceName: string,
  logger: Logger,
): Promise<Tracing | undefined> {
  // OTEL_* values that could not be used, tracing off (config/otel.ts): said once, at startup.
  for (const warning of config.otelWarnings ?? []) logger.warn(`OpenTelemetry: ${warning}`);
  const endpoint = tracesEndpoint(config);
  if (endpoint === undefined) return undefined;
  const { otlpTracing } = await import('./otel-tracing.js');
  const tracing = otlpTracing({
    endpoint,
    serviceName,
    serviceNameOverride: config.otelServiceName,
    sampler: config.otelSampler,
    samplerRatio: config.otelSamplerArg,
    groupId: config.groupId,
    deadLetterTopic: config.dlqTopic,
    logger,
  });
  logger.info({ endpoint, sampler: config.otelSampler }, `Tracing on: spans go to ${endpoint}`);
  return tracing;
}
