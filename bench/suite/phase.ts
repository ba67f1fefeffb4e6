/**
 * One measured phase against a running system: streams created, consumers reading them from the
 * start, producers sending open loop. At a target rate, record k of a producer is due at
 * start + k / rate (producers offset from each other within a step) and its latency counts from
 * then, whether or not it could be sent on time: a full in-flight window, a stalled event loop
 * or a slow system delays the send, and the delay is measured (no coordinated omission). At
 * "max", each producer keeps its window full and latency counts from the send. After the
 * window, sending stops; the phase waits for every acknowledgement, then for every consumer to
 * read back every acknowledged record, which the ledger checks record by record.
 */
import { napUntil, yieldToLoop } from '../bench_common.js';
import { Ledger, type LedgerCounts } from './ledger.js';
import { RunProgress } from './progress.js';
import { Recorder } from './recorder.js';
import { RecordSource, stampOf } from './records.js';
import type { BenchRecord, ConsumerPort, ProducerPort, SystemUnderTest, Workload } from './types.js';

/** A put carries at most this many records: Kinesis' PutRecords limit, and a fair batch for all. */
export const PUT_BATCH_MAX = 500;
/** How long after the window the phase waits for sends, acknowledgements and consumers. */
const DRAIN_TIMEOUT_MS = 60_000;
const DRAIN_POLL_MS = 5;
const ACK_WAIT_MS = 50;
/** Time to let every port settle before the schedule starts. */
const START_DELAY_MS = 50;

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
  /** Lost counts the records acknowledged that some consumer did not receive (0 without consumers). */
  readonly ledger: LedgerCounts;
  readonly consumedRecords: number;
}

class ProducerLane {
  readonly source: RecordSource;
  sent = 0;
  inFlight = 0;
  private nextStream = 0;

  constructor(
    readonly port: ProducerPort,
    workload: Workload,
    readonly index: number,
    private readonly streams: readonly string[],
  ) {
    this.source = new RecordSource(workload, index);
  }

  stream(): string {
    this.nextStream = (this.nextStream + 1) % this.streams.length;
    return this.streams[this.nextStream]!;
  }
}

/** The open-loop schedule: when each producer's records are due. */
class Schedule {
  readonly stepMs: number;
  readonly dueAtEnd: number;

  constructor(
    readonly startMs: number,
    readonly endMs: number,
    readonly laneRate: number,
    private readonly lanes: number,
  ) {
    this.stepMs = laneRate === 0 ? 0 : 1000 / laneRate;
    // Rounded: (end - start) in floating point may fall a hair short of the whole window. At
    // "max" nothing is due once the window is over.
    this.dueAtEnd = laneRate === 0 ? 0 : Math.round(((endMs - startMs) * laneRate) / 1000);
  }

  /** Producers start a fraction of a step apart, so that they do not all fire at once. */
  intendedMs(lane: number, record: number): number {
    return this.startMs + (record + lane / this.lanes) * this.stepMs;
  }

  /** Records of `lane` due by `nowMs`: record k is due from its intended time on. */
  dueBy(lane: number, nowMs: number): number {
    if (this.laneRate === 0) return Infinity;
    return Math.min(this.dueAtEnd, Math.floor(((nowMs - this.startMs) * this.laneRate) / 1000 - lane / this.lanes) + 1);
  }
}

export async function runPhase(system: SystemUnderTest, workload: Workload, spec: PhaseSpec): Promise<PhaseOutcome> {
  await system.createStreams({ names: spec.streams, shards: workload.shardsPerStream, capacityMode: workload.capacityMode });
  const phase = new Phase(workload, spec);
  try {
    await phase.open(system);
    return await phase.run();
  } finally {
    await phase.close();
  }
}

class Phase {
  private readonly lanes: ProducerLane[] = [];
  private readonly consumers: ConsumerPort[] = [];
  private readonly received: number[];
  private readonly ledger: Ledger;
  private recorder = new Recorder(0, 0, false);
  private waiters: Array<() => void> = [];

  constructor(
    private readonly workload: Workload,
    private readonly spec: PhaseSpec,
  ) {
    this.received = new Array<number>(workload.consumers).fill(0);
    this.ledger = new Ledger(workload.producers, workload.consumers);
  }

  async open(system: SystemUnderTest): Promise<void> {
    for (let c = 0; c < this.workload.consumers; c++) {
      for (const stream of this.spec.streams)
        this.consumers.push(
          await system.openConsumer({ stream, mode: this.workload.consumerMode, onRecord: (data) => this.onRecord(c, data) }),
        );
    }
    for (let p = 0; p < this.workload.producers; p++)
      this.lanes.push(
        new ProducerLane(await system.openProducer({ retryThrottled: this.spec.retryThrottled }), this.workload, p, this.spec.streams),
      );
  }

  async close(): Promise<void> {
    await Promise.all([...this.lanes.map((lane) => lane.port.close()), ...this.consumers.map((consumer) => consumer.close())]);
  }

  async run(): Promise<PhaseOutcome> {
    // The schedule starts once every port is open: setup time is not latency.
    const startMs = performance.now() + START_DELAY_MS;
    const measureStartMs = startMs + this.spec.warmupSeconds * 1000;
    const endMs = measureStartMs + this.spec.durationSeconds * 1000;
    this.recorder = new Recorder(measureStartMs, endMs, this.spec.rate === 'max');
    const schedule = new Schedule(startMs, endMs, this.spec.rate === 'max' ? 0 : this.spec.rate / this.lanes.length, this.lanes.length);
    const progress = new RunProgress(this.spec.label, this.recorder, startMs, endMs, this.consumers.length > 0, () =>
      Math.min(...this.received, Infinity),
    );
    while (performance.now() < startMs) await yieldToLoop();
    await this.produce(schedule, progress);
    progress.drain('acknowledgements');
    await this.waitFor(endMs, () => this.lanes.every((lane) => lane.inFlight === 0), 'every acknowledgement');
    if (this.consumers.length > 0) {
      progress.drain('consumers');
      await this.waitFor(
        endMs,
        () => this.received.every((count) => count >= this.recorder.acknowledgedAll),
        'consumers to read every acknowledged record',
        false,
      );
    }
    progress.done();
    return {
      recorder: this.recorder,
      seconds: this.recorder.measuredSeconds(),
      ledger: this.ledger.counts(),
      consumedRecords: this.consumers.length === 0 ? 0 : Math.min(...this.received),
    };
  }

  private onRecord(consumer: number, data: Uint8Array): void {
    const { intendedMs, producer, index } = stampOf(data);
    this.received[consumer]!++;
    this.ledger.receive(consumer, producer, index);
    this.recorder.receive(performance.now(), intendedMs);
  }

  private async produce(schedule: Schedule, progress: RunProgress): Promise<void> {
    const { maxInFlight } = this.workload;
    const giveUpMs = schedule.endMs + DRAIN_TIMEOUT_MS;
    for (;;) {
      const now = performance.now();
      // At a target rate every record due in the window is sent, however late: a stall at the
      // end is measured like any other.
      if (now >= schedule.endMs && this.lanes.every((lane) => lane.sent >= schedule.dueAtEnd)) return;
      if (now > giveUpMs) return this.giveUp(schedule);
      let windowFull = false;
      for (const lane of this.lanes) {
        const due = now >= schedule.endMs ? schedule.dueAtEnd : schedule.dueBy(lane.index, now);
        // Behind schedule, records wait for room for a whole put: sending each acknowledgement's
        // worth of room at once would keep a slow system on tiny puts forever.
        while (due > lane.sent && maxInFlight - lane.inFlight >= Math.min(due - lane.sent, PUT_BATCH_MAX, maxInFlight)) {
          this.send(lane, Math.min(due - lane.sent, maxInFlight - lane.inFlight, PUT_BATCH_MAX), schedule, now);
        }
        windowFull ||= due > lane.sent;
      }
      progress.tick(now);
      if (windowFull) {
        // Nothing can go until an acknowledgement frees room: wait for one, do not spin.
        await this.nextAcknowledgement();
        continue;
      }
      if (schedule.laneRate > 0) napUntil(Math.min(...this.lanes.map((lane) => schedule.intendedMs(lane.index, lane.sent))));
      await yieldToLoop();
    }
  }

  /** The system stopped taking records: what was never sent is counted as failed, not waited for. */
  private giveUp(schedule: Schedule): void {
    const unsent = this.lanes.reduce((sum, lane) => sum + Math.max(0, schedule.dueAtEnd - lane.sent), 0);
    this.recorder.fail(
      performance.now(),
      new Error(`${unsent} records due in the window were still not sent ${DRAIN_TIMEOUT_MS / 1000} s after it`),
      unsent,
    );
  }

  /** Resolves at the next acknowledgement, or after ACK_WAIT_MS so that deadlines are looked at. */
  private nextAcknowledgement(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ACK_WAIT_MS);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private send(lane: ProducerLane, count: number, schedule: Schedule, nowMs: number): void {
    const records: BenchRecord[] = new Array(count);
    const first = lane.sent;
    const firstIntendedMs = schedule.laneRate === 0 ? nowMs : schedule.intendedMs(lane.index, first);
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const record = lane.source.next(firstIntendedMs + i * schedule.stepMs);
      records[i] = record;
      bytes += record.data.byteLength;
    }
    lane.sent += count;
    lane.inFlight += count;
    const batch = { firstIntendedMs, stepMs: schedule.stepMs, count, bytes };
    lane.port
      .put(lane.stream(), records)
      .then((outcome) => {
        const throttledIndices = outcome.throttledIndices ?? [];
        if (outcome.throttled !== throttledIndices.length)
          throw new Error(`${outcome.throttled} records throttled but ${throttledIndices.length} named`);
        this.ledger.acknowledge(lane.index, first, count, throttledIndices);
        this.recorder.acknowledge(performance.now(), batch, throttledIndices);
      })
      .catch((error: unknown) => this.recorder.fail(performance.now(), error, count))
      .finally(() => {
        lane.inFlight -= count;
        const waiters = this.waiters;
        this.waiters = [];
        for (const wake of waiters) wake();
      });
  }

  private async waitFor(endMs: number, condition: () => boolean, what: string, required = true): Promise<void> {
    const deadline = Math.max(endMs, performance.now()) + DRAIN_TIMEOUT_MS;
    while (!condition()) {
      if (performance.now() > deadline) {
        if (required) throw new Error(`gave up waiting ${DRAIN_TIMEOUT_MS / 1000} s for ${what}`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
  }
}
