export { Log, READ_BYTES_DEFAULT, type AppendResult, type ReadResult, type RecordsResult } from './log/log.js';
export { DEFAULT_LOG_OPTIONS, resolveLogOptions, type FsyncPolicy, type LogOptions } from './log/log_config.js';
export type { RecoveryReport } from './log/log_loader.js';
export { CommittedPosition } from './log/committed_position.js';
export { LogReader, type LogReaderOptions, type ReadHint, type ReaderReadResult } from './log/log_reader.js';
export type { LogPosition } from './log/recovery_point.js';
export {
  BATCH_BYTES_MAX,
  BATCH_RECORDS_MAX,
  PARTITION_KEY_CHARS_MAX,
  RECORD_PAYLOAD_BYTES_MAX,
  forEachRecord,
  readBatchHeader,
  verifyBatch,
  type LogRecord,
  type StoredRecord,
} from './log/record_batch.js';
export * from './errors.js';
export { HASH_KEY_MAX, HashKeyRouter, hashKeyBytes, initialHashKeyRanges, parseHashKey, type HashKeyRange } from './streams/hash_key.js';
export { hashKeyOf } from './native/md5_keys.js';
export { decodeSequenceNumber, encodeSequenceNumber, type SequencePosition } from './streams/sequence_number.js';
export { Engine } from './engine/engine.js';
export { engineSink } from './embedded_sink.js';
export type * from './streams/api_types.js';
export { type EngineOptions } from './config.js';
export { STATE_DURATION_MS_MAX } from './limits.js';
export { CLOCK_ADVANCE_MS_MAX, type AdvanceClockInput, type ClockDescription } from './engine/clock_control.js';
export {
  FAULT_DELAY_MS_MAX,
  type FaultFailure,
  type FaultGranularity,
  type FaultKind,
  type FaultLatency,
  type FaultRule,
  type FaultRuleInput,
} from './streams/fault_rules.js';
export type { FaultRuleDescription } from './engine/fault_injector.js';
export { EngineLeaseStore, EngineSource, overEngine } from './groups/embedded.js';
export { expireLease, stealLease, type ExpireLeaseInput, type StealLeaseInput } from './groups/group_operations.js';
export { GroupWorker, groupRecords } from './groups/exports.js';
export type * from './groups/exports.js';
export { Trigger, type TriggerOptions, type TriggerState } from './triggers/trigger.js';
export { TriggerRegistry, type InvokeResult, type MappingDescription } from './triggers/registry.js';
export { callableFunction, type FunctionDefinition, type Handler as TriggerHandler } from './triggers/functions.js';
export { resolveMapping, type MappingRequest, type MappingSettings } from './triggers/mapping.js';
export type { KinesisEvent, KinesisEventRecord } from './triggers/kinesis_event.js';
export { QueryRegistry, QUERIES_MAX, QUERY_TEXT_CHARS_MAX } from './queries/registry.js';
export type { QueryState, QueryStatus } from './queries/query_runner.js';
export { parseQuery } from './queries/parser.js';
export type { QueryAst } from './queries/ast.js';
export type * from './streams/metrics_types.js';
export { SHARD_LEVEL_METRICS } from './streams/metrics_types.js';
export { PrometheusExporter } from './metrics/prometheus.js';
export { estimateCost, parsePriceTable, type CostEstimate, type PriceTable, type StreamCost } from './metrics/cost.js';
export { exportStream, type ExportOptions, type ExportResult } from './testkit/capture_export.js';
export { checkCapture, importCapture, type ImportOptions, type ImportResult, type PutTarget } from './testkit/capture_import.js';
export { replayCapture, type PutTiming, type ReplayOptions, type ReplayResult, type TimingSummary } from './testkit/capture_replay.js';
export { openCapture, type CaptureInput } from './testkit/capture_reader.js';
export type { CaptureEncoding, CaptureHeader, CaptureRecord, CaptureShard } from './testkit/capture_format.js';
