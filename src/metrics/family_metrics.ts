import { Counter, Gauge, type LabelValues, type Registry } from 'prom-client';
import type { DeliveryRegistry } from '../delivery/registry.js';
import type { Engine } from '../engine/engine.js';
import { groupOperation, type GroupDescription } from '../groups/group_operations.js';
import type { GroupSummary } from '../groups/lease_tables.js';
import type { TriggerRegistry } from '../triggers/registry.js';

/*
 * The family's metrics beside the engine's (docs/OPERATIONS.md, "Metrics"): consumer groups'
 * lag per shard (from their lease tables, as DescribeGroup reads it), triggers' invocations and
 * failures, delivery streams' progress and backlog. Read when scraped. Cardinality: one series
 * per group and shard, at most GROUP_SERIES_MAX; one per mapping, and per delivery stream.
 */

export interface FamilySources {
  /** The engine whose lease tables hold the consumer groups. */
  readonly groups?: Engine;
  /** The triggers' registry, once there is one. */
  readonly triggers?: () => Promise<TriggerRegistry | null>;
  /** The delivery streams' registry, once there is one (it starts the stored streams when made). */
  readonly delivery?: () => Promise<DeliveryRegistry | null>;
}

type Labels = LabelValues<string>;
type Series = Array<readonly [Labels, number]>;

export const GROUP_SERIES_MAX = 5_000;
const MS_PER_SECOND = 1000;

export function familyCollectors(registry: Registry, sources: FamilySources): void {
  if (sources.groups !== undefined) groupCollectors(registry, sources.groups);
  if (sources.triggers !== undefined) triggerCollectors(registry, sources.triggers);
  if (sources.delivery !== undefined) deliveryCollectors(registry, sources.delivery);
}

function groupCollectors(registry: Registry, engine: Engine): void {
  const labelNames = ['group', 'stream', 'shard'];
  // One read of the groups serves a scrape's three gauges, which prom-client collects at once.
  let reading: Promise<GroupDescription[]> | null = null;
  const groups = (): Promise<GroupDescription[]> =>
    (reading ??= readGroups(engine).finally(() => {
      reading = null;
    }));
  const leases = async (value: (lease: GroupDescription['Leases'][number]) => number | null): Promise<Series> => {
    const series: Series = [];
    for (const group of await groups())
      for (const lease of group.Leases) {
        const lag = value(lease);
        if (lag !== null && series.length < GROUP_SERIES_MAX)
          series.push([{ group: group.GroupName, stream: group.StreamName, shard: lease.leaseKey }, lag]);
      }
    return series;
  };
  gauge(registry, 'shardline_group_lag_records', 'Records after a lease checkpoint still retained', labelNames, () =>
    leases((lease) => lease.LagRecords),
  );
  gauge(registry, 'shardline_group_lag_seconds', 'Arrival age of the oldest record a lease has not processed', labelNames, () =>
    leases((lease) => (lease.LagMillis === null ? null : lease.LagMillis / MS_PER_SECOND)),
  );
  gauge(registry, 'shardline_group_members', 'Workers holding leases', ['group', 'stream'], async () =>
    (await groups()).map((group) => [{ group: group.GroupName, stream: group.StreamName }, group.Members.length] as const),
  );
}

async function readGroups(engine: Engine): Promise<GroupDescription[]> {
  const { Groups } = groupOperation(engine, 'ListGroups')!({}) as { Groups: GroupSummary[] };
  const describe = groupOperation(engine, 'DescribeGroup')!;
  return Promise.all(Groups.map((group) => describe({ GroupName: group.GroupName }) as Promise<GroupDescription>));
}

function triggerCollectors(registry: Registry, triggers: () => Promise<TriggerRegistry | null>): void {
  const labelNames = ['uuid', 'function'];
  const each = async (value: (found: TriggerRegistry, uuid: string) => number | undefined): Promise<Series> => {
    const found = await triggers();
    if (found === null) return [];
    return found.list().flatMap((mapping) => {
      const number = value(found, mapping.UUID);
      return number === undefined ? [] : [[{ uuid: mapping.UUID, function: mapping.FunctionArn.split(':').pop()! }, number] as const];
    });
  };
  counter(registry, 'shardline_trigger_invocations_total', 'Function invocations of an event source mapping', labelNames, () =>
    each((found, uuid) => found.status(uuid)?.invocations),
  );
  counter(registry, 'shardline_trigger_failed_records_total', 'Records a mapping gave up on (retries or age exhausted)', labelNames, () =>
    each((found, uuid) => found.status(uuid)?.failedRecords),
  );
  gauge(registry, 'shardline_trigger_lag_seconds', 'MillisBehindLatest of the mapping, the largest over its shards', labelNames, () =>
    each((found, uuid) => {
      const shards = found.get(uuid).Shards;
      return shards === undefined ? undefined : Math.max(0, ...shards.map((shard) => shard.MillisBehindLatest)) / MS_PER_SECOND;
    }),
  );
}

type DeliveryStatus = NonNullable<ReturnType<DeliveryRegistry['status']>>;

function deliveryCollectors(registry: Registry, delivery: () => Promise<DeliveryRegistry | null>): void {
  const labelNames = ['delivery_stream'];
  const each = async (value: (status: DeliveryStatus) => number): Promise<Series> => {
    const found = await delivery();
    if (found === null) return [];
    return found.list({ Limit: 10_000 }).DeliveryStreamNames.flatMap((name) => {
      const status = found.status(name);
      return status === undefined ? [] : [[{ delivery_stream: name }, value(status)] as const];
    });
  };
  const counters: Array<[string, string, (status: DeliveryStatus) => number]> = [
    ['records_in_total', 'Records read from the source', (s) => s.recordsIn],
    ['bytes_in_total', 'Bytes read from the source', (s) => s.bytesIn],
    ['records_delivered_total', 'Records written to the destination', (s) => s.recordsDelivered],
    ['bytes_delivered_total', 'Bytes written to the destination', (s) => s.bytesDelivered],
    ['objects_written_total', 'Objects (or HTTP requests) written', (s) => s.objectsWritten],
    ['records_failed_total', 'Records sent to an error output', (s) => s.recordsFailed],
    ['retries_total', 'Retries of a failing destination', (s) => s.retries],
  ];
  for (const [name, help, value] of counters) counter(registry, `shardline_delivery_${name}`, help, labelNames, () => each(value));
  gauge(registry, 'shardline_delivery_backlog_records', 'Records read but neither delivered nor failed yet', labelNames, () =>
    each((s) => Math.max(0, s.recordsIn - s.recordsDelivered - s.recordsFailed)),
  );
  gauge(registry, 'shardline_delivery_oldest_undelivered_age_seconds', 'Arrival age of the oldest record not delivered', labelNames, () =>
    each((s) => s.oldestUndeliveredAgeMs / MS_PER_SECOND),
  );
}

function gauge(registry: Registry, name: string, help: string, labelNames: string[], series: () => Series | Promise<Series>): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect(this: Gauge) {
      const values = await series();
      this.reset();
      for (const [labels, value] of values) this.set(labels, value);
    },
  });
}

function counter(registry: Registry, name: string, help: string, labelNames: string[], series: () => Series | Promise<Series>): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect(this: Counter) {
      const values = await series();
      this.reset();
      for (const [labels, value] of values) this.inc(labels, value);
    },
  });
}
