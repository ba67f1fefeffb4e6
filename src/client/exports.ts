/*
 * What the client packages export, in Node (node.ts) and in browsers (browser.ts) alike.
 */
export { shardIdOf } from '../streams/stream_records.js';
export {
  ShardlineClient,
  type ClientGetRecordsResult,
  type ClientKinesisRecord,
  type ClientOptions,
  type ClientPutResult,
  type ClientRecord,
  type ClientSubscribeEvent,
  type OperationName,
  type ShardSubscription,
  type SubscriptionEnd,
} from './client.js';
export { Producer, type ProducerOptions, type ProducerRecord, type ProducerResult } from './producer.js';
export type { AggregationOptions } from './aggregator.js';
export { WebSocketSink, type OpenShard, type ProducerSink, type PutBatch, type StreamCapacityMode } from './producer_sink.js';
export { Consumer, type ConsumedRecord, type ConsumerOptions, type StartingPosition, type SubscribeOptions } from './consumer.js';
export {
  ENVELOPE_FIXED_OVERHEAD_BYTES,
  ENVELOPE_MAGIC,
  envelopeOverheadBytes,
  isSealed,
  keyProvider,
  type CipherBackend,
  type EnvelopeEncryptionOptions,
  type KeyProvider,
} from './envelope.js';
export { webCipherBackend } from './envelope_web.js';
export { KPL_MAGIC, aggregate, deaggregate, hasMagic, type DeaggregatedRecord, type UserRecord } from './kpl_aggregation.js';
export { ClientClosedError, ConnectionError, ProtocolError, type WebSocketFactory, type WebSocketLike } from './transport.js';
export * from '../errors.js';
export { DEFAULT_PORT, PROTOCOL_VERSION } from '../net/protocol.js';
export * from '../groups/exports.js';
