import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  ExpiredIteratorException,
  InternalFailureException,
  InvalidArgumentException,
  LimitExceededException,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
  ServiceUnavailableError,
  injectedMessage,
  type ShardlineError,
} from '../errors.js';
import type { PutRecordsInput, PutRecordsOutput, PutRecordsResultEntry } from '../streams/api_types.js';
import {
  DATA_OPERATIONS,
  checkFaultRule,
  drawDelayMs,
  type FaultKind,
  type FaultRule,
  type FaultRuleInput,
} from '../streams/fault_rules.js';
import { ACCOUNT_ID } from '../streams/kinesis_shapes.js';
import { seededRandom } from '../util/seeded_random.js';
import { checkRequest } from '../streams/request_check.js';
import type { StreamView } from './catalog.js';
import type { EncodedPutRequest, EncodedPutResult } from './data_path.js';
import type { EngineContext } from './engine_context.js';

/*
 * Fault injection (docs/TESTING.md, "Fault injection"): the engine's facade hands each operation
 * to `call` when any rule exists (one size check when none does), and PutRecords, the network's
 * PUT and every subscription to their own methods here. Each rule draws from its own seeded
 * generator, once per match, in the order the rules were put, so the same rules and the same
 * requests inject the same faults. The first rule that injects an error ends the draws for that
 * request; the delays of the latency rules drawn before it add up.
 *
 * What a rule injected reaches the answer two ways: an injected error's message ends with the
 * rule's marker (errors.ts reads it back as `injected`, on every door), and the doors run each
 * answer under a report (`trace`) that hears the rules which touched it, for the HTTP header and
 * the CALL's RESULT.
 */

const FAULT_RULES_MAX = 100;
const REQUEST_KINDS: ReadonlySet<FaultKind> = new Set(['THROTTLE', 'LATENCY', 'FAIL', 'EXPIRE_ITERATOR']);
/** Which rules a decision draws. */
type RuleFilter = (rule: FaultRule) => boolean;
const wholeRequest: RuleFilter = (rule) => REQUEST_KINDS.has(rule.Kind);
const dropsSubscription: RuleFilter = (rule) => rule.Kind === 'DROP_SUBSCRIPTION';
const throttlesEntries: RuleFilter = (rule) => rule.Kind === 'THROTTLE' && rule.Granularity !== 'REQUEST';
/** The kinds bound to one operation (fault_rules.ts checks a rule names no other). */
const KIND_OPERATION: Partial<Record<FaultKind, string>> = { DROP_SUBSCRIPTION: 'SubscribeToShard', EXPIRE_ITERATOR: 'GetRecords' };
/**
 * The facade's synchronous operations: no delay can be added inside them. A door awaits their
 * drawn delay before it answers (`trace`); an embedded caller's call is not delayed, and latency
 * rules do not match it.
 */
const SYNC_OPERATIONS: ReadonlySet<string> = new Set([
  'DescribeStream',
  'DescribeStreamSummary',
  'ListStreams',
  'ListShards',
  'ListTagsForStream',
  'DescribeStreamConsumer',
  'ListStreamConsumers',
]);
const STREAM_IN_ARN = /:stream\/([^/]+)/;
const CONSUMER_IN_ARN = /\/consumer\/([^:]+)/;

/** A rule as the list shows it: the rule, its counts, and whether it still injects. */
export interface FaultRuleDescription extends FaultRule {
  /** Requests (for PutRecords' RECORD throttling: entries; for DROP_SUBSCRIPTION: events) in its scope. */
  readonly Matched: number;
  readonly Injected: number;
  /** ENDED once MaxInjections or DurationMs is spent: it matches nothing more. */
  readonly Status: 'ACTIVE' | 'ENDED';
  readonly CreatedAtMs: number;
}

interface LiveRule {
  readonly rule: FaultRule;
  readonly random: () => number;
  readonly createdAtMs: number;
  matched: number;
  injected: number;
}

/** What one request is, as the rules' scopes see it. */
interface Target {
  readonly operation: string;
  readonly stream: string | undefined;
  /** The shards the request names or its records route to (computed only for a rule with a ShardId). */
  readonly shards: () => ReadonlySet<string>;
  readonly consumerArn: string | undefined;
}

interface Outcome {
  delayMs: number;
  error: ShardlineError | null;
  /** The rule that injected `error`. */
  errorRule: FaultRule | null;
}

/** What the faults did to one answer: the rules that touched it, and a synchronous operation's delay still to wait. */
class InjectionReport {
  readonly ruleIds = new Set<string>();
  deferredDelayMs = 0;
}

const reports = new AsyncLocalStorage<InjectionReport>();
const injectors = new WeakMap<object, FaultInjector>();

/** The fault rules of an engine, and the rules applied to its operations. */
export class FaultInjector {
  private readonly rules = new Map<string, LiveRule>();

  constructor(private readonly context: EngineContext) {}

  /** Whether any rule exists: the facade's one check. */
  get active(): boolean {
    return this.rules.size > 0;
  }

  put(input: FaultRuleInput): { RuleId: string } {
    const rule = checkFaultRule(input, randomUUID, () => randomBytes(4).readUInt32LE());
    if (!this.rules.has(rule.RuleId) && this.rules.size >= FAULT_RULES_MAX)
      throw new LimitExceededException(`at most ${FAULT_RULES_MAX} fault rules: delete some first`);
    this.rules.delete(rule.RuleId);
    this.rules.set(rule.RuleId, {
      rule,
      random: seededRandom(rule.Seed),
      createdAtMs: this.context.options.clock(),
      matched: 0,
      injected: 0,
    });
    return { RuleId: rule.RuleId };
  }

  list(): { Rules: FaultRuleDescription[] } {
    return {
      Rules: [...this.rules.values()].map((live) => ({
        ...live.rule,
        Matched: live.matched,
        Injected: live.injected,
        Status: this.ended(live) ? 'ENDED' : 'ACTIVE',
        CreatedAtMs: live.createdAtMs,
      })),
    };
  }

  delete(request: { readonly RuleId: string }): void {
    const id = request?.RuleId;
    if (typeof id !== 'string') throw new InvalidArgumentException('RuleId must be a string');
    if (!this.rules.delete(id)) throw new ResourceNotFoundException(`Fault rule ${id} not found.`);
  }

  clear(): { RuleCount: number } {
    const count = this.rules.size;
    this.rules.clear();
    return { RuleCount: count };
  }

  /**
   * A door's: runs one answer under a report, and resolves with what it produced and the rules
   * that touched it, once a synchronous operation's drawn delay has passed too.
   */
  async trace<T>(run: () => T | Promise<T>): Promise<{ readonly result: T; readonly injected: readonly string[] }> {
    if (!this.active) return { result: await run(), injected: [] };
    const report = new InjectionReport();
    try {
      const result = await reports.run(report, run);
      return { result, injected: [...report.ruleIds] };
    } finally {
      if (report.deferredDelayMs > 0) await sleep(report.deferredDelayMs);
    }
  }

  /** An operation under the rules that act on a whole request: a delay first, then an error or the operation. */
  call<T>(operation: string, request: unknown, run: () => T): T {
    const sync = SYNC_OPERATIONS.has(operation);
    // An embedded synchronous call cannot wait: latency rules do not match it.
    const delays = !sync || reports.getStore() !== undefined;
    const outcome = this.decide(this.targetOf(operation, request), (rule) => {
      if (!wholeRequest(rule) || (rule.Kind === 'LATENCY' && !delays)) return false;
      return !(operation === 'PutRecords' && throttlesEntries(rule));
    });
    if (outcome === null) return run();
    if (outcome.delayMs === 0 || sync) {
      if (outcome.delayMs > 0) reports.getStore()!.deferredDelayMs += outcome.delayMs;
      if (outcome.error !== null) throw outcome.error;
      return run();
    }
    const error = outcome.error;
    return sleep(outcome.delayMs).then(() => {
      if (error !== null) throw error;
      return run();
    }) as T;
  }

  /**
   * PutRecords' RECORD throttling: each entry in a rule's scope is drawn alone; those drawn fail
   * (ProvisionedThroughputExceededException, as AWS throttles an entry) and the rest are put.
   */
  async putRecords(request: PutRecordsInput, put: (request: PutRecordsInput) => Promise<PutRecordsOutput>): Promise<PutRecordsOutput> {
    const checked = checkRequest('PutRecords', request);
    const target = this.targetOf('PutRecords', checked);
    const rules = this.candidates(target, throttlesEntries);
    if (rules.length === 0) return put(request);
    const stream = this.context.stream(checked);
    const byShard = rules.some((live) => live.rule.ShardId !== undefined);
    const failed = new Map<number, PutRecordsResultEntry>();
    checked.Records.forEach((entry, index) => {
      const shardId = byShard ? shardOfEntry(stream, entry) : undefined;
      const drawn = rules.find((live) => (live.rule.ShardId === undefined || live.rule.ShardId === shardId) && this.draw(live));
      if (drawn === undefined) return;
      this.reported(drawn.rule.RuleId);
      failed.set(index, {
        ErrorCode: 'ProvisionedThroughputExceededException',
        ErrorMessage: injectedMessage(throttleMessage(stream.name, shardId), drawn.rule.RuleId),
      });
    });
    if (failed.size === 0) return put(request);
    const kept = checked.Records.filter((_, index) => !failed.has(index));
    const output =
      kept.length === 0
        ? { FailedRecordCount: 0, Records: [], EncryptionType: stream.encryption === undefined ? ('NONE' as const) : ('KMS' as const) }
        : await put({ ...checked, Records: kept });
    let next = 0;
    const results = checked.Records.map((_, index) => failed.get(index) ?? output.Records[next++]!);
    return { ...output, FailedRecordCount: output.FailedRecordCount + failed.size, Records: results };
  }

  /**
   * The network's PUT: one draw per frame. A RECORD throttle fails every record of the frame
   * (each a ProvisionedThroughputExceededException in PUT_RESULT); a delay holds the answer
   * back after the records are staged, since the door's buffers are reused once this returns.
   */
  putEncoded(request: EncodedPutRequest, run: () => Promise<EncodedPutResult>): Promise<EncodedPutResult> {
    const outcome = this.decide(this.encodedTarget(request), wholeRequest);
    if (outcome === null) return run();
    const { error, errorRule, delayMs } = outcome;
    if (error === null) return run().then(async (done) => (await sleep(delayMs), done));
    if (!throttlesEntries(errorRule!)) return sleep(delayMs).then(() => Promise.reject(error));
    const indices = Array.from({ length: request.recordCount }, (_, index) => index);
    return sleep(delayMs).then(() => ({ runs: [], failures: [{ indices, code: error.code, message: error.message }] }));
  }

  /**
   * A subscription under the rules: those of a whole request before it starts, then after each
   * event it delivered a draw of the DROP_SUBSCRIPTION rules, which end it with a retriable
   * InternalFailure (the event is delivered; the caller resubscribes from its continuation).
   */
  async *subscription<E>(
    request: { readonly ConsumerARN: string; readonly ShardId: string },
    open: () => AsyncGenerator<E>,
  ): AsyncGenerator<E> {
    const target = this.targetOf('SubscribeToShard', request);
    const outcome = this.active ? this.decide(target, wholeRequest) : null;
    if (outcome !== null) {
      if (outcome.delayMs > 0) await sleep(outcome.delayMs);
      if (outcome.error !== null) throw outcome.error;
    }
    for await (const event of open()) {
      yield event;
      const drop = this.active ? this.decide(target, dropsSubscription) : null;
      if (drop !== null && drop.error !== null) throw drop.error;
    }
  }

  /** Draws every rule in scope, in order, until one injects an error; null when none injected anything. */
  private decide(target: Target, filter: RuleFilter): Outcome | null {
    let outcome: Outcome | null = null;
    for (const live of this.candidates(target, filter)) {
      if (!this.draw(live)) continue;
      outcome ??= { delayMs: 0, error: null, errorRule: null };
      this.reported(live.rule.RuleId);
      if (live.rule.Kind === 'LATENCY') {
        outcome.delayMs += drawDelayMs(live.rule.Latency!, live.random);
        continue;
      }
      outcome.error = injectedError(live.rule, target);
      outcome.errorRule = live.rule;
      break;
    }
    return outcome;
  }

  /** The live rules the filter takes whose scope holds the target, in the order they were put. */
  private candidates(target: Target, filter: RuleFilter): LiveRule[] {
    const found: LiveRule[] = [];
    for (const live of this.rules.values()) if (filter(live.rule) && !this.ended(live) && inScope(live.rule, target)) found.push(live);
    return found;
  }

  /** One match of the rule: counted, and drawn (every Nth, or by its probability). */
  private draw(live: LiveRule): boolean {
    live.matched++;
    const { EveryNth: everyNth, Probability: probability } = live.rule;
    const hit = everyNth !== undefined ? live.matched % everyNth === 0 : live.random() < probability!;
    if (hit) live.injected++;
    return hit;
  }

  private reported(ruleId: string): void {
    reports.getStore()?.ruleIds.add(ruleId);
  }

  private ended(live: LiveRule): boolean {
    const { MaxInjections: most, DurationMs: durationMs } = live.rule;
    if (most !== undefined && live.injected >= most) return true;
    return durationMs !== undefined && this.context.options.clock() >= live.createdAtMs + durationMs;
  }

  private targetOf(operation: string, request: unknown): Target {
    const fields = (typeof request === 'object' && request !== null ? request : {}) as Record<string, unknown>;
    if (operation === 'GetRecords') return this.iteratorTarget(fields['ShardIterator']);
    const consumerArn = text(fields['ConsumerARN']);
    const stream = text(fields['StreamName']) ?? STREAM_IN_ARN.exec(text(fields['StreamARN']) ?? consumerArn ?? '')?.[1];
    const named = ['ShardId', 'ShardToSplit', 'ShardToMerge', 'AdjacentShardToMerge'].map((key) => text(fields[key]));
    const shards = once(() => {
      const found = new Set(named.filter((shardId) => shardId !== undefined));
      const view = stream === undefined ? undefined : this.context.catalog.get(stream);
      if (view !== undefined && (operation === 'PutRecord' || operation === 'PutRecords'))
        for (const entry of (operation === 'PutRecord' ? [fields] : (fields['Records'] as unknown[] | undefined)) ?? [])
          found.add(shardOfEntry(view, entry as { PartitionKey: string; ExplicitHashKey?: string }) ?? '');
      return found;
    });
    return { operation, stream, shards, consumerArn };
  }

  private iteratorTarget(token: unknown): Target {
    let stream: StreamView | undefined;
    let shardSerial = -1;
    try {
      const position = this.context.iterators.decode(token as string, this.context.options.clock());
      stream = this.context.catalog.live(position.streamId);
      shardSerial = position.shardSerial;
    } catch {
      // Not an iterator of a live stream: GetRecords refuses it itself; only unscoped rules match.
    }
    const shardId = stream?.shards.find((shard) => shard.serial === shardSerial)?.shardId;
    return {
      operation: 'GetRecords',
      stream: stream?.name,
      shards: () => new Set(shardId === undefined ? [] : [shardId]),
      consumerArn: undefined,
    };
  }

  private encodedTarget(request: EncodedPutRequest): Target {
    const stream = STREAM_IN_ARN.exec(request.stream)?.[1] ?? request.stream;
    const shards = once(() => {
      const view = this.context.catalog.get(stream);
      const found = new Set<string>();
      for (let index = 0; view !== undefined && index < request.recordCount; index++) {
        const key = BigInt(`0x${Buffer.from(request.hashKeys.subarray(index * 16, index * 16 + 16)).toString('hex')}`);
        found.add(shardOfHashKey(view, key) ?? '');
      }
      return found;
    });
    return { operation: 'PutRecords', stream, shards, consumerArn: undefined };
  }
}

function inScope(rule: FaultRule, target: Target): boolean {
  const operations = rule.Operations ?? (KIND_OPERATION[rule.Kind] === undefined ? undefined : [KIND_OPERATION[rule.Kind]!]);
  if (operations !== undefined && !operations.includes(target.operation)) return false;
  if (rule.StreamName !== undefined && rule.StreamName !== target.stream) return false;
  if (rule.ConsumerARN !== undefined && rule.ConsumerARN !== target.consumerArn) return false;
  if (rule.ConsumerName !== undefined && rule.ConsumerName !== CONSUMER_IN_ARN.exec(target.consumerArn ?? '')?.[1]) return false;
  return rule.ShardId === undefined || target.shards().has(rule.ShardId);
}

function injectedError(rule: FaultRule, target: Target): ShardlineError {
  const mark = (message: string): string => injectedMessage(message, rule.RuleId);
  switch (rule.Kind) {
    case 'THROTTLE':
      return DATA_OPERATIONS.has(target.operation)
        ? new ProvisionedThroughputExceededException(mark(throttleMessage(target.stream, rule.ShardId)))
        : new LimitExceededException(mark(`Rate exceeded for ${target.operation} under account ${ACCOUNT_ID}.`));
    case 'FAIL':
      return rule.Failure === 'ServiceUnavailable'
        ? new ServiceUnavailableError(mark('Service Unavailable.'))
        : new InternalFailureException(mark('Internal service failure.'));
    case 'EXPIRE_ITERATOR':
      return new ExpiredIteratorException(mark('Iterator expired.'));
    case 'DROP_SUBSCRIPTION':
      return new InternalFailureException(mark('The subscription was dropped.'));
    case 'LATENCY':
      assert.fail('a latency rule injects no error');
  }
}

function throttleMessage(stream: string | undefined, shardId: string | undefined): string {
  const shard = shardId === undefined ? '' : ` for shard ${shardId}`;
  return `Rate exceeded${shard} in stream ${stream ?? '(none)'} under account ${ACCOUNT_ID}.`;
}

/** The open shard an entry routes to (MD5 of its partition key, or its explicit hash key), as the put path routes it. */
function shardOfEntry(
  stream: StreamView,
  entry: { readonly PartitionKey: string; readonly ExplicitHashKey?: string | undefined },
): string | undefined {
  const key =
    entry.ExplicitHashKey !== undefined
      ? BigInt(entry.ExplicitHashKey)
      : BigInt(`0x${createHash('md5').update(String(entry.PartitionKey), 'utf8').digest('hex')}`);
  return shardOfHashKey(stream, key);
}

function shardOfHashKey(stream: StreamView, key: bigint): string | undefined {
  return stream.shards.find(
    (shard) => shard.endOffset === undefined && BigInt(shard.startingHashKey) <= key && key <= BigInt(shard.endingHashKey),
  )?.shardId;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function once<T>(compute: () => T): () => T {
  let value: { readonly of: T } | undefined;
  return () => (value ??= { of: compute() }).of;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Called once by Engine.open. */
export function attachFaults(engine: object, injector: FaultInjector): void {
  assert(!injectors.has(engine), 'an engine has one fault injector');
  injectors.set(engine, injector);
}

/** The fault injector of an engine made by Engine.open (the doors' `trace`). */
export function faultsOf(engine: object): FaultInjector {
  const injector = injectors.get(engine);
  assert(injector !== undefined, 'not an engine made by Engine.open');
  return injector;
}
