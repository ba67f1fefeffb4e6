import { SHARD_LEVEL_METRICS, type ShardLevelMetric } from '../streams/metrics_types.js';
import { streamArn } from '../streams/kinesis_shapes.js';
import type { EnhancedMonitoringInput, EnhancedMonitoringOutput } from '../streams/api_types.js';
import type { EngineContext } from './engine_context.js';

/**
 * EnableEnhancedMonitoring and DisableEnhancedMonitoring: which shard-level metrics a stream
 * has (ALL stands for the seven), kept in the catalog. The metering counts a shard's traffic
 * only while its stream has some, and a scrape shows only the ones named.
 */
export class EnhancedMonitoring {
  constructor(private readonly context: EngineContext) {}

  enable(request: EnhancedMonitoringInput): Promise<EnhancedMonitoringOutput> {
    return this.change(request, (current, asked) => SHARD_LEVEL_METRICS.filter((metric) => current.has(metric) || asked.has(metric)));
  }

  disable(request: EnhancedMonitoringInput): Promise<EnhancedMonitoringOutput> {
    return this.change(request, (current, asked) => SHARD_LEVEL_METRICS.filter((metric) => current.has(metric) && !asked.has(metric)));
  }

  private async change(
    request: EnhancedMonitoringInput,
    next: (current: ReadonlySet<ShardLevelMetric>, asked: ReadonlySet<ShardLevelMetric>) => ShardLevelMetric[],
  ): Promise<EnhancedMonitoringOutput> {
    const stream = this.context.activeStream(request);
    const current = [...(stream.shardLevelMetrics ?? [])];
    const asked = new Set(request.ShardLevelMetrics.flatMap((metric) => (metric === 'ALL' ? SHARD_LEVEL_METRICS : [metric])));
    const desired = next(new Set(current), asked);
    this.context.catalog.setShardLevelMetrics(stream, desired);
    await this.context.catalog.save();
    return {
      StreamName: stream.name,
      StreamARN: streamArn(stream.name),
      CurrentShardLevelMetrics: current,
      DesiredShardLevelMetrics: desired,
    };
  }
}
