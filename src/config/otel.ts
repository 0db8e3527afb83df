/**
 * When the OTEL_* settings ask for tracing, and what a bad one among them does. Platforms (an operator,
 * a sidecar injector) set OTEL_* variables for every container: while tracing is off here, a value this
 * application cannot use must not stop it, so it is a warning, logged once at startup; with tracing on,
 * it stops startup with the other configuration problems (exit 2).
 */

/** The exporters of OTEL_TRACES_EXPORTER that mean something here. */
const KNOWN_EXPORTERS = new Set(['otlp', 'none']);

export interface TracingSwitch {
  readonly otelSdkDisabled: boolean;
  /** OTEL_TRACES_EXPORTER as a list (lowercase), or undefined when unset. */
  readonly otelTracesExporter?: readonly string[] | undefined;
}

/**
 * Whether tracing is on: OTEL_SDK_DISABLED is not true, and OTEL_TRACES_EXPORTER names `otlp`, or is
 * unset and an OTLP endpoint (`endpointSet`) is given.
 */
export function tracingRequested(config: TracingSwitch, endpointSet: boolean): boolean {
  if (config.otelSdkDisabled) return false;
  return config.otelTracesExporter === undefined ? endpointSet : config.otelTracesExporter.includes('otlp');
}

/**
 * Sorts the OTEL_* problems (`invalid`, one line each, already redacted) into those that stop startup
 * (tracing on) and warnings (tracing off); an exporter other than otlp or none is a warning either way.
 */
export function otelProblems(
  config: TracingSwitch,
  endpointSet: boolean,
  invalid: readonly string[],
): { readonly problems: readonly string[]; readonly warnings: readonly string[] } {
  const on = tracingRequested(config, endpointSet);
  const warnings: string[] = [];
  const unknown = (config.otelTracesExporter ?? []).filter((name) => !KNOWN_EXPORTERS.has(name));
  if (unknown.length > 0)
    warnings.push(
      `OTEL_TRACES_EXPORTER: ${unknown.join(', ')} ignored, only otlp is supported` +
        (on ? '' : '; tracing is off'),
    );
  if (on) return { problems: invalid, warnings };
  for (const problem of invalid) warnings.push(`${problem} (ignored: tracing is off)`);
  return { problems: [], warnings };
}
