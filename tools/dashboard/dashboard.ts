/**
 * The Grafana dashboard, as code. `npm run dashboard:generate` writes it to
 * charts/kafka-order-system/files/grafana-dashboard.json, the one file the
 * Helm chart and docker-compose both provision; `npm run dashboard:generate -- --check`
 * (CI) fails when that file is not what this code generates.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { PUSHGATEWAY_JOB } from '../../src/adapters/metrics/pushgateway.js';

export const DASHBOARD_UID = 'kafka-order-system';

const DATASOURCE: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };
/** Selects one deployment: a namespace and job, all instances. */
const CLUSTER = 'namespace=~"$namespace", job=~"$job"';
/** Selects the instances picked in the instance variable too. */
const INSTANCE = `${CLUSTER}, instance=~"$instance"`;
/**
 * Rates of running producers only: a Job's totals pushed to the Pushgateway on exit repeat what was
 * already scraped live, and the next run's push would show up as a second bump.
 */
const LIVE_PRODUCERS = `${INSTANCE}, job!="${PUSHGATEWAY_JOB}"`;
const RATE = '$__rate_interval';

/** Alert thresholds, repeated as panel thresholds so the dashboard shows where an alert starts. */
const RETRY_ALERT_PER_SECOND = 0.1;
const LAG_ALERT = 1000;
/** OrdersConsumerLagHighSeconds: the oldest order not yet processed is older than this. */
const LAG_SECONDS_ALERT = 300;

const GREEN = 'green';
const YELLOW = 'yellow';
const RED = 'red';

interface Query {
  readonly expr: string;
  readonly legend?: string;
  readonly instant?: boolean;
}

function thresholds(...steps: [number | null, string][]) {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps(steps.map(([value, color]) => ({ value, color })));
}

function targets(queries: readonly Query[]) {
  return queries.map((q, i) => {
    const target = new prometheus.DataqueryBuilder()
      .datasource(DATASOURCE)
      .refId(String.fromCharCode(65 + i))
      .expr(q.expr)
      .legendFormat(q.legend ?? '__auto');
    return q.instant === true ? target.instant() : target.range();
  });
}

let nextId = 1;

interface PanelSpec {
  readonly title: string;
  readonly description: string;
  readonly unit: string;
  readonly queries: readonly Query[];
  readonly width: number;
  readonly height?: number;
  readonly decimals?: number;
  readonly min?: number;
  readonly max?: number;
}

function timeSeries(
  spec: PanelSpec & {
    readonly stack?: boolean;
    readonly bars?: boolean;
    readonly thresholdLine?: number;
    readonly mappings?: dashboard.ValueMapping[];
  },
) {
  let panel = new timeseries.PanelBuilder()
    .id(nextId++)
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .unit(spec.unit)
    .span(spec.width)
    .height(spec.height ?? 8)
    .lineWidth(1)
    .fillOpacity(spec.stack === true || spec.bars === true ? 60 : 10)
    .gradientMode(common.GraphGradientMode.Opacity)
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(false)
    .drawStyle(spec.bars === true ? common.GraphDrawStyle.Bars : common.GraphDrawStyle.Line)
    .stacking(
      new common.StackingConfigBuilder().mode(
        spec.stack === true ? common.StackingMode.Normal : common.StackingMode.None,
      ),
    )
    .legend(
      new common.VizLegendOptionsBuilder()
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom)
        .showLegend(true)
        .calcs([]),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder()
        .mode(common.TooltipDisplayMode.Multi)
        .sort(common.SortOrder.Descending),
    )
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.PaletteClassic));
  for (const target of targets(spec.queries)) panel = panel.withTarget(target);
  if (spec.decimals !== undefined) panel = panel.decimals(spec.decimals);
  if (spec.min !== undefined) panel = panel.min(spec.min);
  if (spec.max !== undefined) panel = panel.max(spec.max);
  if (spec.mappings !== undefined) panel = panel.mappings(spec.mappings);
  if (spec.thresholdLine === undefined) {
    panel = panel.thresholds(thresholds([null, GREEN]));
  } else {
    panel = panel
      .thresholds(thresholds([null, GREEN], [spec.thresholdLine, RED]))
      .thresholdsStyle(
        new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed),
      );
  }
  return panel;
}

function singleStat(
  spec: PanelSpec & { readonly steps: [number | null, string][]; readonly noValue?: string },
) {
  let panel = new stat.PanelBuilder()
    .id(nextId++)
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .unit(spec.unit)
    .span(spec.width)
    .height(spec.height ?? 4)
    .thresholds(thresholds(...spec.steps))
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .colorMode(common.BigValueColorMode.Value)
    .graphMode(common.BigValueGraphMode.Area)
    .textMode(common.BigValueTextMode.Value)
    .justifyMode(common.BigValueJustifyMode.Center)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .noValue(spec.noValue ?? 'no data');
  for (const target of targets(spec.queries)) panel = panel.withTarget(target);
  if (spec.decimals !== undefined) panel = panel.decimals(spec.decimals);
  return panel;
}

function barGauge(spec: PanelSpec & { readonly steps: [number | null, string][] }) {
  let panel = new bargauge.PanelBuilder()
    .id(nextId++)
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .unit(spec.unit)
    .span(spec.width)
    .height(spec.height ?? 8)
    .thresholds(thresholds(...spec.steps))
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .displayMode(common.BarGaugeDisplayMode.Gradient)
    .orientation(common.VizOrientation.Horizontal)
    .showUnfilled(true)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .noValue('0');
  for (const target of targets(spec.queries)) panel = panel.withTarget(target);
  if (spec.decimals !== undefined) panel = panel.decimals(spec.decimals);
  if (spec.min !== undefined) panel = panel.min(spec.min);
  return panel;
}

function row(title: string) {
  return new dashboard.RowBuilder(title).id(nextId++);
}

function quantiles(metric: string, selector: string): Query[] {
  return [0.5, 0.95, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (le) (rate(${metric}_bucket{${selector}}[${RATE}])))`,
    legend: `p${Math.round(q * 100)}`,
  }));
}

function labelVariable(name: string, label: string, query: string, description: string) {
  return (
    new dashboard.QueryVariableBuilder(name)
      .label(label)
      .description(description)
      .datasource(DATASOURCE)
      .query(query)
      .definition(query)
      .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
      .sort(dashboard.VariableSort.AlphabeticalAsc)
      .multi(true)
      .includeAll(true)
      // `.*` also matches an absent label (no `namespace` under compose), which
      // the default "all values" regex would not.
      .allValue('.*')
      .current({ selected: true, text: ['All'], value: ['$__all'] })
  );
}

/** Builds the dashboard model (what the JSON file holds). */
// The classic (v1) model on purpose: file provisioning in the Helm chart's
// sidecar and in compose loads it on every Grafana version, while the v2
// schema needs Grafana 12 with its kubernetesDashboards feature.
// eslint-disable-next-line @typescript-eslint/no-deprecated
export function buildDashboard(): dashboard.Dashboard {
  nextId = 1;
  const averageCluster = `sum(orders_price_sum_dollars_total{${CLUSTER}}) / sum(orders_price_count_total{${CLUSTER}})`;
  const processedSuccess = `orders_processed_total{${CLUSTER}, outcome="success"}`;

  return (
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    new dashboard.DashboardBuilder('Kafka order system')
      .uid(DASHBOARD_UID)
      .description(
        'Orders flowing through Kafka: prices, throughput, retries, dead letters, lag and latency of the consumer group, and the producer. Generated by tools/dashboard; do not edit the JSON by hand.',
      )
      .tags(['kafka', 'orders', 'kafka-order-system'])
      .editable()
      .tooltip(dashboard.DashboardCursorSync.Crosshair)
      .refresh('10s')
      .time({ from: 'now-30m', to: 'now' })
      .timezone('browser')
      .withVariable(
        new dashboard.DatasourceVariableBuilder('datasource')
          .label('Data source')
          .description('The Prometheus that scrapes the producer and consumers.')
          .type('prometheus'),
      )
      .withVariable(
        labelVariable(
          'namespace',
          'Namespace',
          'label_values(process_start_time_seconds{role=~"consumer|producer"}, namespace)',
          'Kubernetes namespace of the release (empty under docker-compose).',
        ),
      )
      .withVariable(
        labelVariable(
          'job',
          'Job',
          'label_values(process_start_time_seconds{role=~"consumer|producer", namespace=~"$namespace"}, job)',
          'Prometheus job (one per scraped Service or compose scrape config).',
        ),
      )
      .withVariable(
        labelVariable(
          'instance',
          'Instance',
          'label_values(process_start_time_seconds{role=~"consumer|producer", namespace=~"$namespace", job=~"$job"}, instance)',
          'One producer or consumer process. Cluster-wide panels ignore this filter.',
        ),
      )

      // --- Overview ------------------------------------------------------
      .withRow(row('Overview'))
      .withPanel(
        singleStat({
          title: 'Average price (cluster-wide)',
          description:
            'Exact: the exactly-once aggregate from the order-stats changelog (every order since the topic began, identical on every replica). Replicas: sum(price sum) / sum(order count) over the running consumer replicas, since they started.',
          unit: 'currencyUSD',
          decimals: 2,
          width: 5,
          queries: [
            { expr: `max(orders_cluster_average_price_dollars{${CLUSTER}})`, legend: 'Exact' },
            { expr: averageCluster, legend: 'Replicas' },
          ],
          steps: [[null, 'blue']],
        }),
      )
      .withPanel(
        singleStat({
          title: 'Orders processed',
          description: 'Orders added to the aggregate by all consumer replicas since they started.',
          unit: 'short',
          decimals: 0,
          width: 4,
          queries: [{ expr: `sum(${processedSuccess})` }],
          steps: [[null, GREEN]],
        }),
      )
      .withPanel(
        singleStat({
          title: 'Dead-lettered (total)',
          description:
            'Orders written to the dead-letter topic since the replicas started. Anything above 0 deserves a look.',
          unit: 'short',
          decimals: 0,
          width: 4,
          queries: [{ expr: `sum(orders_dead_lettered_total{${CLUSTER}})` }],
          steps: [
            [null, GREEN],
            [1, RED],
          ],
        }),
      )
      .withPanel(
        singleStat({
          title: 'Retries / s',
          description: `Retries of transient failures per second. The OrdersRetryRateHigh alert fires above ${RETRY_ALERT_PER_SECOND}/s for 10 minutes.`,
          unit: 'ops',
          decimals: 2,
          width: 4,
          queries: [{ expr: `sum(rate(orders_retries_total{${CLUSTER}}[${RATE}]))` }],
          steps: [
            [null, GREEN],
            [RETRY_ALERT_PER_SECOND / 2, YELLOW],
            [RETRY_ALERT_PER_SECOND, RED],
          ],
        }),
      )
      .withPanel(
        singleStat({
          title: 'Consumer lag',
          description: `Unconsumed orders summed over partitions. The OrdersConsumerLagHigh alert fires above ${LAG_ALERT} for 5 minutes.`,
          unit: 'short',
          decimals: 0,
          width: 4,
          queries: [{ expr: `sum(max by (partition) (orders_consumer_lag{${CLUSTER}}))` }],
          steps: [
            [null, GREEN],
            [100, YELLOW],
            [LAG_ALERT, RED],
          ],
        }),
      )
      .withPanel(
        singleStat({
          title: 'Consumers ready',
          description: 'Consumer replicas whose readiness checks (broker, group, registry) pass.',
          unit: 'short',
          decimals: 0,
          width: 3,
          queries: [{ expr: `sum(orders_ready{${CLUSTER}, role="consumer"})` }],
          steps: [
            [null, RED],
            [1, GREEN],
          ],
          noValue: '0',
        }),
      )

      // --- Prices --------------------------------------------------------
      .withRow(row('Prices'))
      .withPanel(
        timeSeries({
          title: 'Average price (cluster-wide)',
          description:
            'Since start: sum(price sum) / sum(order count) across replicas, the exact running average of the group. Window: the average of the orders processed in each rate interval.',
          unit: 'currencyUSD',
          decimals: 2,
          width: 12,
          queries: [
            { expr: averageCluster, legend: 'since start' },
            {
              expr: `sum(rate(orders_price_sum_dollars_total{${CLUSTER}}[${RATE}])) / sum(rate(orders_price_count_total{${CLUSTER}}[${RATE}]))`,
              legend: 'window',
            },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Average price per instance',
          description:
            'The running average each consumer keeps of the orders it processed itself (orders_average_price_dollars).',
          unit: 'currencyUSD',
          decimals: 2,
          width: 12,
          queries: [{ expr: `orders_average_price_dollars{${INSTANCE}}`, legend: '{{instance}}' }],
        }),
      )

      // --- Throughput ----------------------------------------------------
      .withRow(row('Throughput and failures'))
      .withPanel(
        timeSeries({
          title: 'Throughput by outcome',
          description:
            'Orders finished per second: success = added to the aggregate, dead_lettered = sent to the DLQ.',
          unit: 'ops',
          width: 8,
          min: 0,
          stack: true,
          queries: [
            {
              expr: `sum by (outcome) (rate(orders_processed_total{${INSTANCE}}[${RATE}]))`,
              legend: '{{outcome}}',
            },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Retries / s by reason',
          description: `Retries of transient failures per second, by error code. The dashed line is the OrdersRetryRateHigh threshold (${RETRY_ALERT_PER_SECOND}/s).`,
          unit: 'ops',
          width: 8,
          min: 0,
          thresholdLine: RETRY_ALERT_PER_SECOND,
          queries: [
            {
              expr: `sum by (reason) (rate(orders_retries_total{${INSTANCE}}[${RATE}])) > 0`,
              legend: '{{reason}}',
            },
            { expr: `sum(rate(orders_retries_total{${INSTANCE}}[${RATE}]))`, legend: 'total' },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Dead-lettered / s by reason',
          description:
            'Orders sent to the dead-letter topic per second, by error code (the reason label: the KOS_* code each dead letter carries in its kos-error-code header; docs/reference.md lists them).',
          unit: 'ops',
          width: 8,
          min: 0,
          stack: true,
          queries: [
            {
              expr: `sum by (reason) (rate(orders_dead_lettered_total{${INSTANCE}}[${RATE}])) > 0`,
              legend: '{{reason}}',
            },
          ],
        }),
      )
      .withPanel(
        barGauge({
          title: 'Dead-lettered total by reason',
          description:
            'Orders in the DLQ since the replicas started, by error code (the kos-error-code header of each dead letter). Read them with `npm run dlq`.',
          unit: 'short',
          decimals: 0,
          width: 8,
          height: 6,
          min: 0,
          queries: [
            {
              expr: `sum by (reason) (orders_dead_lettered_total{${INSTANCE}}) > 0`,
              legend: '{{reason}}',
              instant: true,
            },
          ],
          steps: [
            [null, GREEN],
            [1, RED],
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Redriven / s by outcome',
          description:
            'Orders replayed from the DLQ that the consumers finished, per second: success = processed this time, dead_lettered = failed again and back in the DLQ with their redrive history (orders_redriven_total; they count in the throughput too).',
          unit: 'ops',
          width: 8,
          height: 6,
          min: 0,
          stack: true,
          queries: [
            {
              expr: `sum by (outcome) (rate(orders_redriven_total{${INSTANCE}}[${RATE}]))`,
              legend: '{{outcome}}',
            },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Producer rate',
          description:
            'Orders acknowledged by the broker per second (valid="false" are the deliberately invalid ones), and send errors.',
          unit: 'ops',
          width: 8,
          height: 6,
          min: 0,
          stack: true,
          queries: [
            {
              expr: `sum by (valid) (rate(orders_produced_total{${LIVE_PRODUCERS}}[${RATE}]))`,
              legend: 'produced valid={{valid}}',
            },
            {
              expr: `sum by (reason) (rate(orders_produce_errors_total{${LIVE_PRODUCERS}}[${RATE}])) > 0`,
              legend: 'error {{reason}}',
            },
          ],
        }),
      )

      // --- Latency -------------------------------------------------------
      .withRow(row('Latency'))
      .withPanel(
        timeSeries({
          title: 'End-to-end latency',
          description:
            "From the order's creation (its createdAt field) until the consumer finished it (successful orders): p50, p95, p99.",
          unit: 's',
          width: 8,
          min: 0,
          queries: quantiles('orders_end_to_end_latency_seconds', `${INSTANCE}, outcome="success"`),
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Processing duration',
          description: 'Decode, validate and process one order, retries and backoff included: p50, p95, p99.',
          unit: 's',
          width: 8,
          min: 0,
          queries: quantiles('orders_processing_duration_seconds', INSTANCE),
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Producer send latency',
          description:
            'From handing an order to the client until the broker acknowledged it (acks=all): p50, p95, p99.',
          unit: 's',
          width: 8,
          min: 0,
          queries: quantiles('orders_produce_send_duration_seconds', `${INSTANCE}, outcome="acknowledged"`),
        }),
      )

      // --- Kafka ---------------------------------------------------------
      .withRow(row('Consumer group'))
      .withPanel(
        timeSeries({
          title: 'Consumer lag by partition',
          description: `Unconsumed orders per partition of the orders topic. The dashed line is the OrdersConsumerLagHigh threshold for the sum (${LAG_ALERT}).`,
          unit: 'short',
          decimals: 0,
          width: 12,
          min: 0,
          thresholdLine: LAG_ALERT,
          queries: [
            {
              expr: `max by (partition) (orders_consumer_lag{${CLUSTER}})`,
              legend: 'partition {{partition}}',
            },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Consumer lag in seconds by partition',
          description: `Age of the oldest order not yet processed in each partition, from its record timestamp (0 when caught up), the highest any instance reports. It shows a partition held back by a retry backoff or a dependency wait, which the record lag barely does. Instances report only the partitions they own: with no consumer running, there is no value (the record lag of the KEDA trigger still counts). The dashed line is the OrdersConsumerLagHighSeconds threshold (${LAG_SECONDS_ALERT} s, for 2 minutes).`,
          unit: 's',
          width: 12,
          min: 0,
          thresholdLine: LAG_SECONDS_ALERT,
          queries: [
            {
              expr: `max by (partition) (orders_consumer_lag_seconds{${CLUSTER}})`,
              legend: 'partition {{partition}}',
            },
          ],
        }),
      )
      .withPanel(
        barGauge({
          title: 'Partitions per consumer',
          description:
            'Partitions each consumer owns right now. 0 on every replica means nothing is consumed (OrdersNoActiveConsumer).',
          unit: 'short',
          decimals: 0,
          width: 6,
          min: 0,
          queries: [
            { expr: `orders_assigned_partitions{${INSTANCE}}`, legend: '{{instance}}', instant: true },
          ],
          steps: [
            [null, RED],
            [1, GREEN],
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Rebalances',
          description:
            'Consumer group rebalances per instance in each interval. Frequent rebalances stall consumption.',
          unit: 'short',
          decimals: 0,
          width: 6,
          min: 0,
          bars: true,
          queries: [
            {
              expr: `sum by (instance) (increase(orders_rebalances_total{${INSTANCE}}[${RATE}]))`,
              legend: '{{instance}}',
            },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Partitions waiting for a dependency',
          description:
            'Partitions whose next record waits for the registry, the broker or the DLQ: no retry is used and nothing is skipped, and each goes on by itself once the dependency is back. dlq above 0 for a minute fires OrdersDeadLetterQueueUnwritable; the others fire OrdersWaitingForDependency after 5 minutes.',
          unit: 'short',
          decimals: 0,
          width: 12,
          min: 0,
          queries: [
            {
              expr: `sum by (dependency) (orders_partitions_waiting{${CLUSTER}})`,
              legend: '{{dependency}}',
            },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Waits by reason',
          description:
            'Waits for a dependency per interval, by error code (KOS_REGISTRY_UNAVAILABLE, KOS_REGISTRY_AUTH, KOS_BROKER_UNAVAILABLE, KOS_DLQ_UNWRITABLE). A wait doubles up to DEPENDENCY_BACKOFF_MAX_MS.',
          unit: 'short',
          decimals: 0,
          width: 24,
          min: 0,
          bars: true,
          queries: [
            {
              expr: `sum by (reason) (increase(orders_dependency_waits_total{${CLUSTER}}[${RATE}]))`,
              legend: '{{reason}}',
            },
          ],
        }),
      )

      // --- Processes -----------------------------------------------------
      .withRow(row('Processes'))
      .withPanel(
        timeSeries({
          title: 'Readiness',
          description: '1 when every readiness check of the instance passes (what /readyz answers with 200).',
          unit: 'short',
          width: 6,
          min: 0,
          max: 1,
          mappings: [
            {
              type: dashboard.MappingType.ValueToText,
              options: { '0': { text: 'not ready', color: RED }, '1': { text: 'ready', color: GREEN } },
            },
          ],
          queries: [{ expr: `orders_ready{${INSTANCE}}`, legend: '{{instance}}' }],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'CPU',
          description: 'CPU time used per second (1 = one core).',
          unit: 'percentunit',
          width: 6,
          min: 0,
          queries: [
            { expr: `rate(process_cpu_seconds_total{${INSTANCE}}[${RATE}])`, legend: '{{instance}}' },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Resident memory',
          description: 'Resident set size of each process.',
          unit: 'bytes',
          width: 6,
          min: 0,
          queries: [{ expr: `process_resident_memory_bytes{${INSTANCE}}`, legend: '{{instance}}' }],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Event loop lag p99',
          description: 'How late the Node.js event loop runs; /healthz fails when it stalls for seconds.',
          unit: 's',
          width: 6,
          min: 0,
          queries: [{ expr: `nodejs_eventloop_lag_p99_seconds{${INSTANCE}}`, legend: '{{instance}}' }],
        }),
      )
      .build()
  );
}
