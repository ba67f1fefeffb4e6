import type { ResolvedEngineOptions } from '../config.js';
import { ClosedError, DryRunOperationException, ResourceInUseException, ResourceNotFoundException } from '../errors.js';
import { ACCOUNT_ID, streamNameOf, type StreamReference } from '../streams/kinesis_shapes.js';
import type { ShardIterator } from '../streams/shard_iterator.js';
import type { WorkerPool } from '../workers/worker_pool.js';
import type { Catalog, StreamView } from './catalog.js';
import type { ShardRegistry } from './shard_registry.js';
import type { Metering } from './metering.js';
import type { StreamKeys } from './stream_keys.js';

/**
 * DryRun: called once a request is validated and what it names looked up, before anything is
 * stored or read. Kinesis answers a dry run that would have succeeded so.
 */
export function refuseDryRun(request: { readonly DryRun?: boolean | undefined }): void {
  if (request.DryRun === true) throw new DryRunOperationException('The request was rejected because the DryRun parameter was specified.');
}

/**
 * What the engine's modules share: its options, the catalog, the shard workers, the shards'
 * runtimes and routers, and the iterator codec; and the lookups every operation starts with,
 * which answer with Kinesis' errors.
 */
export class EngineContext {
  private closedFlag = false;

  constructor(
    readonly options: ResolvedEngineOptions,
    readonly catalog: Catalog,
    readonly pool: WorkerPool,
    readonly shards: ShardRegistry,
    readonly iterators: ShardIterator,
    readonly keys: StreamKeys,
    readonly meter: Metering,
  ) {}

  get closed(): boolean {
    return this.closedFlag;
  }

  /** From now on every operation is refused with ClosedError. */
  markClosed(): void {
    this.closedFlag = true;
  }

  checkOpen(): void {
    if (this.closedFlag) throw new ClosedError('the engine is closed');
  }

  /** The stream a request names, which must exist and not be being deleted. */
  stream(request: StreamReference | undefined): StreamView {
    const stream = this.described(request);
    if (stream.status === 'DELETING') throw streamNotFound(stream.name);
    return stream;
  }

  /**
   * The stream a put or a read names: ACTIVE or UPDATING. One still CREATING is not found, as
   * Kinesis (and kinesalite) answer (docs/TESTING.md, "Realistic state durations").
   */
  dataStream(request: StreamReference | undefined): StreamView {
    const stream = this.stream(request);
    if (stream.status === 'CREATING') throw streamNotFound(stream.name);
    return stream;
  }

  /** The stream a Describe names, in any state: one being deleted shows DELETING until it is gone. */
  described(request: StreamReference | undefined): StreamView {
    this.checkOpen();
    const name = streamNameOf(request);
    const stream = this.catalog.get(name);
    if (stream === undefined) throw streamNotFound(name);
    return stream;
  }

  /** The stream a request names, which must be ACTIVE (not resharding). */
  activeStream(request: StreamReference): StreamView {
    const stream = this.stream(request);
    if (stream.status !== 'ACTIVE')
      throw new ResourceInUseException(`Stream ${stream.name} under account ${ACCOUNT_ID} is not ACTIVE (${stream.status}).`);
    return stream;
  }
}

/** Kinesis' answer for a stream that is not there (or, to puts and reads, not there yet or any more). */
function streamNotFound(name: string): ResourceNotFoundException {
  return new ResourceNotFoundException(`Stream ${name} under account ${ACCOUNT_ID} not found.`);
}
