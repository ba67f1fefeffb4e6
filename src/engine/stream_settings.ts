import { RETENTION_HOURS_MAX, RETENTION_HOURS_MIN, TAGS_PER_STREAM_MAX } from '../limits.js';
import { InvalidArgumentException, LimitExceededException, ValidationException } from '../errors.js';
import { HOUR_MS } from '../log/log_config.js';
import { checkInteger } from '../streams/kinesis_shapes.js';
import type { AddTagsToStreamInput, ListTagsForStreamInput, ListTagsForStreamOutput, RemoveTagsFromStreamInput, RetentionPeriodInput, UpdateStreamModeInput } from '../streams/api_types.js';
import type { StreamView } from './catalog.js';
import type { EngineContext } from './engine_context.js';
import { ShardRuntime } from './shard_runtime.js';

/** Checked tags, at most TAGS_PER_STREAM_MAX of them. */
export function checkTags(tags: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(tags)) checkTag(key, value);
  if (Object.keys(tags).length > TAGS_PER_STREAM_MAX) throw new LimitExceededException(`a stream has at most ${TAGS_PER_STREAM_MAX} tags`);
  return tags;
}

function checkTag(key: string, value: unknown): void {
  if (key.length < 1 || key.length > 128) throw new ValidationException(`tag key ${JSON.stringify(key)} must be 1 to 128 characters`);
  if (typeof value !== 'string' || value.length > 256) throw new ValidationException(`tag ${JSON.stringify(key)}: the value must be a string of at most 256 characters`);
}

/** The retention bounds are AWS's InvalidArgumentExceptions, in its words. */
function retentionHours(value: unknown): number {
  const hours = checkInteger(value, 'RetentionPeriodHours', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (hours < RETENTION_HOURS_MIN) throw new InvalidArgumentException(`Minimum allowed retention period is ${RETENTION_HOURS_MIN} hours. Requested retention period (${hours} hours) is too short.`);
  if (hours > RETENTION_HOURS_MAX) throw new InvalidArgumentException(`Maximum allowed retention period is ${RETENTION_HOURS_MAX} hours. Requested retention period (${hours} hours) is too long.`);
  return hours;
}

/** A stream's settings: retention, capacity mode and tags. */
export class StreamSettings {
  constructor(private readonly context: EngineContext) {}

  async increaseRetention(request: RetentionPeriodInput): Promise<void> {
    const stream = this.context.activeStream(request);
    const hours = retentionHours(request.RetentionPeriodHours);
    if (hours < stream.retentionHours) throw new InvalidArgumentException(`Requested retention period (${hours} hours) for stream ${stream.name} can not be shorter than existing retention period (${stream.retentionHours} hours). Use DecreaseRetentionPeriod API.`);
    await this.setRetention(stream, hours);
  }

  async decreaseRetention(request: RetentionPeriodInput): Promise<void> {
    const stream = this.context.activeStream(request);
    const hours = retentionHours(request.RetentionPeriodHours);
    if (hours > stream.retentionHours) throw new InvalidArgumentException(`Requested retention period (${hours} hours) for stream ${stream.name} can not be longer than existing retention period (${stream.retentionHours} hours). Use IncreaseRetentionPeriod API.`);
    await this.setRetention(stream, hours);
  }

  async updateStreamMode(request: UpdateStreamModeInput): Promise<void> {
    const stream = this.context.activeStream({ StreamARN: request?.StreamARN });
    const mode = request.StreamModeDetails?.StreamMode;
    if (mode !== 'PROVISIONED' && mode !== 'ON_DEMAND') throw new ValidationException('StreamMode must be PROVISIONED or ON_DEMAND');
    this.context.catalog.setMode(stream, mode);
    await this.context.catalog.save();
    for (const runtime of this.context.shards.runtimesOf(stream)) runtime.throughput.setMode(mode, this.context.options.clock());
  }

  async addTags(request: AddTagsToStreamInput): Promise<void> {
    const stream = this.context.stream(request);
    if (Object.keys(request.Tags ?? {}).length === 0) throw new ValidationException('Tags must hold at least one tag');
    this.context.catalog.setTags(stream, checkTags({ ...stream.tags, ...request.Tags }));
    await this.context.catalog.save();
  }

  async removeTags(request: RemoveTagsFromStreamInput): Promise<void> {
    const stream = this.context.stream(request);
    if (!Array.isArray(request.TagKeys) || request.TagKeys.length === 0 || request.TagKeys.length > TAGS_PER_STREAM_MAX) {
      throw new ValidationException(`TagKeys must hold 1 to ${TAGS_PER_STREAM_MAX} keys`);
    }
    this.context.catalog.setTags(stream, Object.fromEntries(Object.entries(stream.tags).filter(([key]) => !request.TagKeys.includes(key))));
    await this.context.catalog.save();
  }

  listTags(request: ListTagsForStreamInput): ListTagsForStreamOutput {
    const stream = this.context.stream(request);
    const limit = request.Limit === undefined ? 50 : checkInteger(request.Limit, 'Limit', 1, 50);
    const keys = Object.keys(stream.tags)
      .sort()
      .filter((key) => request.ExclusiveStartTagKey === undefined || key > request.ExclusiveStartTagKey);
    return { Tags: keys.slice(0, limit).map((Key) => ({ Key, Value: stream.tags[Key]! })), HasMoreTags: keys.length > limit };
  }

  private async setRetention(stream: StreamView, hours: number): Promise<void> {
    this.context.catalog.setRetention(stream, hours);
    await this.context.catalog.save();
    await Promise.all(stream.shards.map((shard) => this.context.pool.request({ kind: 'setRetention', shardKey: ShardRuntime.keyOf(stream, shard), retentionMs: hours * HOUR_MS })));
  }
}
