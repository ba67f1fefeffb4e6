/*
 * What the consumer groups export to every client entry (Node and browsers): the worker, its
 * processor interface, the lease model and the WebSocket adapters.
 */
export {
  GroupWorker,
  shardsToLease,
  type GroupWorkerOptions,
  type InitialPosition,
  type LeaseEvent,
  type ShardProgress,
} from './worker.js';
export { groupRecords, type GroupRecord } from './group_records.js';
export type * from './processor.js';
export { SENTINELS, type Lease, type LeaseExpectation, type LeaseStore, type Sentinel } from './lease.js';
export type { ReadStart, RecordSource, Retrieval, SourceBatch, SourceRecord, SourceShard } from './record_source.js';
export { ShardlineLeaseStore, WebSocketSource, overWebSocket } from './websocket.js';
export type { SourceOptions } from './sources.js';
