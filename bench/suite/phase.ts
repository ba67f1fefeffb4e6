/**
 * One measured phase against a running system: streams created, consumers reading them from the
 * start, producers sending open loop. At a target rate, record k of a producer is due at
 * start + k / rate and its latency counts from then, whether or not it could be sent on time
 * (a full in-flight window or a stalled event loop delays the send, and the delay is measured:
 * no coordinated omission). At "max", each producer keeps its window full and latency counts
 * from the send. After the window, sending stops and the phase waits for every acknowledgement
 * and for the consumers to read every acknowledged record back.
 */
import { napUntil, yieldToLoop } from '../bench_common.js';
import { RunProgress } from './progress.js';
import { Recorder } from './recorder.js';
import { RecordSource, intendedTimeOf } from './records.js';
import type { BenchRecord, ConsumerPort, ProducerPort, SystemUnderTest, Workload } from './types.js';

/** A put carries at most this many records: Kinesis' PutRecords limit, and a fair batch for all. */
export const PUT_BATCH_MAX = 500;
const DRAIN_TIMEOUT_MS = 60_000;
const DRAIN_POLL_MS = 5;

export interface PhaseSpec {
  readonly label: string;
  readonly streams: readonly string[];
  /** Records per second over all producers, or "max". */
  readonly rate: number | 'max';
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly retryThrottled: boolean;
}

export interface PhaseOutcome {
  readonly recorder: Recorder;
  /** The window, or longer if its records were acknowledged after it: rates divide by this. */
  readonly seconds: number;
  /** The fewest acknowledged records any consumer missed after the drain (0 when all read). */
  readonly lost: number;
  readonly consumedRecords: number;
}

class ProducerLane {
  readonly source: RecordSource;
  sent = 0;
  inFlight = 0;
  private nextStream = 0;

  constructor(readonly port: ProducerPort, workload: Workload, readonly index: number, private readonly streams: readonly string[]) {
    this.source = new RecordSource(workload, index);
  }

  stream(): string {
    this.nextStream = (this.nextStream + 1) % this.streams.length;
    return this.streams[this.nextStream]!;
  }
}

export async function runPhase(system: SystemUnderTest, workload: Workload, spec: PhaseSpec): Promise<PhaseOutcome> {
  await system.createStreams({ names: spec.streams, shards: workload.shardsPerStream, capacityMode: workload.capacityMode });
  const startMs = performance.now() + 50;
  const measureStartMs = startMs + spec.warmupSeconds * 1000;
  const endMs = measureStartMs + spec.durationSeconds * 1000;
  const recorder = new Recorder(measureStartMs, endMs);
  const received = new Array<number>(workload.consumers).fill(0);
  const consumers = await openConsumers(system, workload, spec.streams, recorder, received);
  const lanes = await Promise.all(Array.from({ length: workload.producers }, async (_, i) => new ProducerLane(await system.openProducer({ retryThrottled: spec.retryThrottled }), workload, i, spec.streams)));
  const progress = new RunProgress(spec.label, recorder, startMs, endMs, workload.consumers > 0, () => Math.min(...received, Infinity));
  try {
    while (performance.now() < startMs) await yieldToLoop();
    await produce(lanes, workload, spec, recorder, progress, startMs, endMs);
    await waitFor(() => lanes.every((lane) => lane.inFlight === 0), 'acknowledgements');
    if (consumers.length > 0) await waitFor(() => received.every((count) => count >= recorder.acknowledgedAll), 'consumers to read every acknowledged record', false);
    progress.done();
    const lost = consumers.length === 0 ? 0 : Math.max(0, recorder.acknowledgedAll - Math.min(...received));
    return { recorder, seconds: recorder.measuredSeconds(), lost, consumedRecords: consumers.length === 0 ? 0 : Math.min(...received) };
  } finally {
    await Promise.all([...lanes.map((lane) => lane.port.close()), ...consumers.map((consumer) => consumer.close())]);
  }
}

async function openConsumers(system: SystemUnderTest, workload: Workload, streams: readonly string[], recorder: Recorder, received: number[]): Promise<ConsumerPort[]> {
  const ports: ConsumerPort[] = [];
  for (let c = 0; c < workload.consumers; c++) {
    for (const stream of streams) {
      ports.push(await system.openConsumer({
        stream,
        mode: workload.consumerMode,
        onRecord: (data) => {
          received[c]!++;
          recorder.receive(performance.now(), intendedTimeOf(data));
        },
      }));
    }
  }
  return ports;
}

async function produce(lanes: readonly ProducerLane[], workload: Workload, spec: PhaseSpec, recorder: Recorder, progress: RunProgress, startMs: number, endMs: number): Promise<void> {
  const laneRate = spec.rate === 'max' ? 0 : spec.rate / lanes.length;
  const stepMs = laneRate === 0 ? 0 : 1000 / laneRate;
  // Rounded: (end - start) in floating point may fall a hair short of the whole window.
  const dueAtEnd = laneRate === 0 ? 0 : Math.round(((endMs - startMs) * laneRate) / 1000);
  for (;;) {
    const now = performance.now();
    // At a target rate every record due in the window is sent, however late: a stall at the
    // end is measured like any other.
    if (now >= endMs && lanes.every((lane) => lane.sent >= dueAtEnd)) return;
    let sentAny = false;
    for (const lane of lanes) {
      const due = laneRate === 0 ? Infinity : now >= endMs ? dueAtEnd : Math.min(dueAtEnd, Math.floor(((now - startMs) * laneRate) / 1000));
      let room = Math.min(due - lane.sent, workload.maxInFlight - lane.inFlight);
      for (; room > 0; sentAny = true) {
        const count = Math.min(room, PUT_BATCH_MAX);
        send(lane, count, laneRate === 0 ? now : startMs + lane.sent * stepMs, stepMs, recorder);
        room -= count;
      }
    }
    progress.tick(now);
    if (laneRate > 0) napUntil(startMs + (Math.min(...lanes.map((lane) => lane.sent)) + 1) * stepMs);
    // With nothing sent the window is full: let acknowledgements in before looking again.
    await (sentAny || laneRate > 0 ? yieldToLoop() : nextAcknowledgement());
  }
}

let acknowledgementWaiters: Array<() => void> = [];

function nextAcknowledgement(): Promise<void> {
  return new Promise((resolve) => acknowledgementWaiters.push(resolve));
}

function wakeWaiters(): void {
  const waiters = acknowledgementWaiters;
  acknowledgementWaiters = [];
  for (const wake of waiters) wake();
}

function send(lane: ProducerLane, count: number, firstIntendedMs: number, stepMs: number, recorder: Recorder): void {
  const records: BenchRecord[] = new Array(count);
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const record = lane.source.next(firstIntendedMs + i * stepMs);
    records[i] = record;
    bytes += record.data.byteLength;
  }
  lane.sent += count;
  lane.inFlight += count;
  const settle = (): void => {
    lane.inFlight -= count;
    wakeWaiters();
  };
  lane.port.put(lane.stream(), records).then(
    (outcome) => {
      recorder.acknowledge(performance.now(), firstIntendedMs, stepMs, count, bytes, outcome.throttled);
      settle();
    },
    (error: unknown) => {
      recorder.fail(performance.now(), error);
      settle();
    },
  );
}

async function waitFor(condition: () => boolean, what: string, required = true): Promise<void> {
  const deadline = performance.now() + DRAIN_TIMEOUT_MS;
  while (!condition()) {
    if (performance.now() > deadline) {
      if (required) throw new Error(`gave up waiting ${DRAIN_TIMEOUT_MS / 1000} s for ${what}`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  }
}
