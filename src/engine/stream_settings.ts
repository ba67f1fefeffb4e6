import { RETENTION_HOURS_MAX, RETENTION_HOURS_MIN, TAGS_PER_STREAM_MAX } from '../limits.js';
import { InvalidArgumentException, LimitExceededException } from '../errors.js';
import { HOUR_MS } from '../log/log_config.js';
import type {
  AddTagsToStreamInput,
  ListTagsForStreamInput,
  ListTagsForStreamOutput,
  RemoveTagsFromStreamInput,
  RetentionPeriodInput,
  StreamEncryptionInput,
  UpdateStreamModeInput,
} from '../streams/api_types.js';
import type { BatchKey } from '../log/batch_cipher.js';
import type { StreamView } from './catalog.js';
import type { EngineContext } from './engine_context.js';
import { ShardRuntime } from './shard_runtime.js';
import type { StreamStates } from './stream_states.js';

/**
 * A stream's tags, at most TAGS_PER_STREAM_MAX of them: a limit, not bad input (each tag's
 * length and characters are the request validation's).
 */
export function withinTagLimit(tags: Record<string, string>): Record<string, string> {
  if (Object.keys(tags).length > TAGS_PER_STREAM_MAX) throw new LimitExceededException(`a stream has at most ${TAGS_PER_STREAM_MAX} tags`);
  return tags;
}

/** KMS is Kinesis' one encryption; NONE is in the model's enum but refused by the service. */
function checkEncryptionType(type: string): void {
  if (type !== 'KMS') throw new InvalidArgumentException(`EncryptionType must be KMS, got ${type}`);
}

/** The retention bounds are the model's prose, AWS's InvalidArgumentExceptions in its words. */
function retentionHours(hours: number): number {
  if (hours < RETENTION_HOURS_MIN)
    throw new InvalidArgumentException(
      `Minimum allowed retention period is ${RETENTION_HOURS_MIN} hours. Requested retention period (${hours} hours) is too short.`,
    );
  if (hours > RETENTION_HOURS_MAX)
    throw new InvalidArgumentException(
      `Maximum allowed retention period is ${RETENTION_HOURS_MAX} hours. Requested retention period (${hours} hours) is too long.`,
    );
  return hours;
}

/**
 * A stream's settings: retention, capacity mode and tags. A change of mode or of encryption
 * leaves the stream UPDATING for the update duration, as on Kinesis (stream_states.ts).
 */
export class StreamSettings {
  constructor(
    private readonly context: EngineContext,
    private readonly states: StreamStates,
  ) {}

  async increaseRetention(request: RetentionPeriodInput): Promise<void> {
    const stream = this.context.activeStream(request);
    const hours = retentionHours(request.RetentionPeriodHours);
    if (hours < stream.retentionHours)
      throw new InvalidArgumentException(
        `Requested retention period (${hours} hours) for stream ${stream.name} can not be shorter than existing retention period (${stream.retentionHours} hours). Use DecreaseRetentionPeriod API.`,
      );
    await this.setRetention(stream, hours);
  }

  async decreaseRetention(request: RetentionPeriodInput): Promise<void> {
    const stream = this.context.activeStream(request);
    const hours = retentionHours(request.RetentionPeriodHours);
    if (hours > stream.retentionHours)
      throw new InvalidArgumentException(
        `Requested retention period (${hours} hours) for stream ${stream.name} can not be longer than existing retention period (${stream.retentionHours} hours). Use IncreaseRetentionPeriod API.`,
      );
    await this.setRetention(stream, hours);
  }

  async updateStreamMode(request: UpdateStreamModeInput): Promise<void> {
    const stream = this.context.activeStream({ StreamARN: request?.StreamARN });
    const mode = request.StreamModeDetails.StreamMode;
    this.context.catalog.setMode(stream, mode);
    await this.context.catalog.save();
    for (const runtime of this.context.shards.runtimesOf(stream)) runtime.throughput.setMode(mode, this.context.options.clock());
    await this.states.holdUpdating(stream);
  }

  async addTags(request: AddTagsToStreamInput): Promise<void> {
    const stream = this.context.stream(request);
    this.context.catalog.setTags(stream, withinTagLimit({ ...stream.tags, ...request.Tags }));
    await this.context.catalog.save();
  }

  async removeTags(request: RemoveTagsFromStreamInput): Promise<void> {
    const stream = this.context.stream(request);
    this.context.catalog.setTags(stream, Object.fromEntries(Object.entries(stream.tags).filter(([key]) => !request.TagKeys.includes(key))));
    await this.context.catalog.save();
  }

  listTags(request: ListTagsForStreamInput): ListTagsForStreamOutput {
    const stream = this.context.stream(request);
    const limit = request.Limit ?? TAGS_PER_STREAM_MAX;
    const keys = Object.keys(stream.tags)
      .sort()
      .filter((key) => request.ExclusiveStartTagKey === undefined || key > request.ExclusiveStartTagKey);
    return { Tags: keys.slice(0, limit).map((Key) => ({ Key, Value: stream.tags[Key]! })), HasMoreTags: keys.length > limit };
  }

  async startEncryption(request: StreamEncryptionInput): Promise<void> {
    const stream = this.context.activeStream(request);
    checkEncryptionType(request.EncryptionType);
    const store = await this.context.keys.keyStore();
    const key = await store.resolveKey(request.KeyId);
    const generated = await store.generateDataKey(key.Arn);
    const number = Math.max(0, ...(stream.dataKeys ?? []).map((record) => record.number)) + 1;
    const wrapped = Buffer.from(generated.wrapped).toString('base64');
    this.context.keys.add(stream, number, generated.plaintext);
    this.context.catalog.setEncryption(
      stream,
      { keyId: request.KeyId, keyArn: generated.keyArn, dataKey: number },
      { number, keyArn: generated.keyArn, wrapped },
    );
    await this.context.catalog.save();
    await this.toShards(stream, { number, key: generated.plaintext });
    await this.states.holdUpdating(stream);
  }

  async stopEncryption(request: StreamEncryptionInput): Promise<void> {
    const stream = this.context.activeStream(request);
    checkEncryptionType(request.EncryptionType);
    if (stream.encryption === undefined) return;
    this.context.catalog.setEncryption(stream, null);
    await this.context.catalog.save();
    await this.toShards(stream, null);
    await this.states.holdUpdating(stream);
  }

  /** Every shard's worker encrypts with `key` from now on (an opening one was sent the old setting). */
  private async toShards(stream: StreamView, key: BatchKey | null): Promise<void> {
    await this.context.shards.streamReady(stream);
    await Promise.all(
      stream.shards.map((shard) =>
        this.context.pool.request({ kind: 'setEncryption', shardKey: ShardRuntime.keyOf(stream, shard), encryption: key }),
      ),
    );
  }

  private async setRetention(stream: StreamView, hours: number): Promise<void> {
    this.context.catalog.setRetention(stream, hours);
    await this.context.catalog.save();
    await this.context.shards.streamReady(stream); // one opening now was sent the old retention
    await Promise.all(
      stream.shards.map((shard) =>
        this.context.pool.request({ kind: 'setRetention', shardKey: ShardRuntime.keyOf(stream, shard), retentionMs: hours * HOUR_MS }),
      ),
    );
  }
}
