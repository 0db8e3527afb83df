/**
 * Every PromQL expression the project ships, read from the committed files
 * (the dashboard JSON and the rule file), so tests can evaluate each one
 * against a real Prometheus.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const DASHBOARD_FILE = fileURLToPath(
  new URL('../../charts/kafka-order-system/files/grafana-dashboard.json', import.meta.url),
);
export const RULES_FILE = fileURLToPath(
  new URL('../../charts/kafka-order-system/files/prometheus-rules.yaml', import.meta.url),
);

export interface ShippedExpression {
  readonly source: 'dashboard' | 'alert' | 'recording' | 'variable';
  /** Panel title (+ refId), alert name or variable name. */
  readonly name: string;
  /** As written in the file, Grafana variables included. */
  readonly raw: string;
  /** Ready for /api/v1/query: Grafana variables replaced (see resolveGrafanaVariables). */
  readonly expr: string;
}

interface Panel {
  title?: string;
  type?: string;
  targets?: { refId?: string; expr?: string }[];
  panels?: Panel[];
}

/** Replaces Grafana's variables the way "All" and a short dashboard range would. */
export function resolveGrafanaVariables(
  expr: string,
  values: { rateInterval?: string; range?: string; labels?: Readonly<Record<string, string>> } = {},
): string {
  let out = expr
    .replaceAll('$__rate_interval', values.rateInterval ?? '1m')
    .replaceAll('$__interval', values.rateInterval ?? '1m')
    .replaceAll('$__range', values.range ?? '5m');
  for (const name of ['namespace', 'job', 'instance']) {
    const value = values.labels?.[name] ?? '.*';
    out = out.replaceAll(`\${${name}}`, value).replaceAll(`$${name}`, value);
  }
  return out;
}

/** The panels of the committed dashboard, rows' nested panels included. */
export function dashboardPanels(): {
  title: string;
  type: string;
  exprs: { refId: string; expr: string }[];
}[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { panels: Panel[] };
  const flat = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...flat(p.panels ?? [])]);
  return flat(dashboard.panels)
    .filter((p) => p.type !== 'row')
    .map((p) => ({
      title: p.title ?? '',
      type: p.type ?? '',
      exprs: (p.targets ?? [])
        .filter((t): t is { refId?: string; expr: string } => typeof t.expr === 'string')
        .map((t) => ({ refId: t.refId ?? '', expr: t.expr })),
    }));
}

/** Every PromQL expression of the dashboard panels and the rule file. */
export function shippedExpressions(): ShippedExpression[] {
  const out: ShippedExpression[] = [];
  for (const panel of dashboardPanels()) {
    for (const { refId, expr } of panel.exprs) {
      out.push({
        source: 'dashboard',
        name: `${panel.title} [${refId}]`,
        raw: expr,
        expr: resolveGrafanaVariables(expr),
      });
    }
  }
  const rules = parse(readFileSync(RULES_FILE, 'utf8')) as {
    groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
  };
  for (const group of rules.groups) {
    for (const rule of group.rules) {
      out.push({
        source: rule.alert === undefined ? 'recording' : 'alert',
        name: rule.alert ?? rule.record ?? group.name,
        raw: rule.expr,
        expr: rule.expr,
      });
    }
  }
  return out;
}

function averagePanelExpr(metric: string): string {
  const panel = dashboardPanels().find(
    (p) => p.title === 'Average price (cluster-wide)' && p.type === 'stat',
  );
  const expr = panel?.exprs.find((e) => e.expr.includes(metric))?.expr;
  if (expr === undefined)
    throw new Error(`the "Average price (cluster-wide)" stat panel has no query on ${metric}`);
  return expr;
}

/**
 * The dashboard's average over the running replicas (dollars), with every
 * namespace and job selected: what an end-to-end test compares with the orders produced.
 */
export function clusterAveragePricePromQL(labels?: Readonly<Record<string, string>>): string {
  return resolveGrafanaVariables(
    averagePanelExpr('orders_price_sum_dollars_total'),
    labels === undefined ? {} : { labels },
  );
}

/** The dashboard's exact, lifetime average from the exactly-once changelog (dollars). */
export function exactClusterAveragePricePromQL(labels?: Readonly<Record<string, string>>): string {
  return resolveGrafanaVariables(
    averagePanelExpr('orders_cluster_average_price_dollars'),
    labels === undefined ? {} : { labels },
  );
}

/** Alert names in the rule file. */
export function alertNames(): string[] {
  return shippedExpressions()
    .filter((e) => e.source === 'alert')
    .map((e) => e.name);
}

/**
 * The dashboard's query variables as PromQL: Grafana's
 * `label_values(selector, label)` becomes `group by (label) (selector)`.
 */
export function dashboardVariableExpressions(): ShippedExpression[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as {
    templating: { list: { name: string; type: string; query?: unknown }[] };
  };
  return dashboard.templating.list
    .filter(
      (v): v is { name: string; type: string; query: string } =>
        v.type === 'query' && typeof v.query === 'string',
    )
    .map((v) => {
      const match = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(v.query);
      if (!match) throw new Error(`variable ${v.name}: not a label_values() query: ${v.query}`);
      const expr = `group by (${match[2]!}) (${resolveGrafanaVariables(match[1]!)})`;
      return { source: 'variable' as const, name: v.name, raw: v.query, expr };
    });
}
