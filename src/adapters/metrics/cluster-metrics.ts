import { Gauge, type Registry } from 'prom-client';
import type { PartitionStats } from '../../domain/partition-stats.js';
import { centsToDollars } from './units.js';

export interface ClusterStatsSource {
  all(): PartitionStats[];
  readonly caughtUp: boolean;
}

/**
 * The exact, cluster-wide aggregate as this instance reads it from the
 * changelog (exactly-once mode). Every instance reports the same values once
 * caught up, so dashboards take max() across instances, never sum().
 */
export function registerClusterMetrics(
  registry: Registry,
  source: ClusterStatsSource,
  groupId: string,
  ordersTopic: string,
): void {
  const registers = [registry];
  const mine = () => source.all().filter((s) => s.group === groupId && s.topic === ordersTopic);
  new Gauge({
    name: 'orders_cluster_orders',
    help: 'Valid orders processed cluster-wide, exactly once, from the aggregate changelog.',
    registers,
    collect() {
      this.set(Number(mine().reduce((n, s) => n + s.orders, 0n)));
    },
  });
  new Gauge({
    name: 'orders_cluster_price_sum_dollars',
    help: 'Exact sum of the prices of the orders processed cluster-wide, in dollars.',
    registers,
    collect() {
      this.set(centsToDollars(mine().reduce((n, s) => n + s.sumCents, 0n)));
    },
  });
  new Gauge({
    name: 'orders_cluster_average_price_dollars',
    help: 'Cluster-wide average price (exact sum / count, rounded to the cent), in dollars.',
    registers,
    collect() {
      const stats = mine();
      const count = stats.reduce((n, s) => n + s.orders, 0n);
      const sum = stats.reduce((n, s) => n + s.sumCents, 0n);
      this.set(count === 0n ? 0 : centsToDollars((sum * 2n + count) / (2n * count)));
    },
  });
  new Gauge({
    name: 'orders_cluster_dead_lettered',
    help: 'Orders dead-lettered cluster-wide, exactly once, from the aggregate changelog.',
    registers,
    collect() {
      this.set(Number(mine().reduce((n, s) => n + s.deadLettered, 0n)));
    },
  });
  new Gauge({
    name: 'orders_cluster_stats_caught_up',
    help: '1 when this instance has read the aggregate changelog to its end (as of the last check), else 0.',
    registers,
    collect() {
      this.set(source.caughtUp ? 1 : 0);
    },
  });
}
