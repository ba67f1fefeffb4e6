/**
 * Progress while a phase runs: a line every few seconds (rate, MB/s, p99 of the last second,
 * errors) that logs and CI keep, and, where a terminal is attached, a bar redrawn in place.
 */
import { MB } from '../bench_common.js';
import type { Recorder } from './recorder.js';

const LINE_EVERY_MS = 3000;
const BAR_EVERY_MS = 200;
const BAR_WIDTH = 30;

export class RunProgress {
  private readonly tty = process.stdout.isTTY === true;
  private nextLine: number;
  private nextBar = 0;
  private lastLineAt: number;
  private lastRecords = 0;
  private lastBytes = 0;
  private barShown = false;

  constructor(
    private readonly label: string,
    private readonly recorder: Recorder,
    private readonly startMs: number,
    private readonly endMs: number,
    private readonly hasConsumers: boolean,
    private readonly consumed: () => number,
  ) {
    this.nextLine = startMs + LINE_EVERY_MS;
    this.lastLineAt = recorder.measureStartMs;
  }

  tick(nowMs: number): void {
    if (nowMs >= this.nextLine) this.line(nowMs);
    else if (this.tty && nowMs >= this.nextBar) this.bar(nowMs);
  }

  /** Sending is over: says what the phase now waits for, which can take a while after a stall. */
  drain(what: string): void {
    this.print(`  ${this.label}: window over, waiting for ${what}`);
  }

  done(): void {
    this.clearBar();
  }

  private line(nowMs: number): void {
    this.nextLine = nowMs + LINE_EVERY_MS;
    if (nowMs < this.recorder.measureStartMs)
      return this.print(`  ${this.label}: warming up, ${((this.recorder.measureStartMs - nowMs) / 1000).toFixed(1)} s left`);
    const seconds = (nowMs - this.lastLineAt) / 1000;
    const { acknowledged, acknowledgedBytes, errors, throttled } = this.recorder;
    const rate = Math.round((acknowledged - this.lastRecords) / seconds);
    const mbps = ((acknowledgedBytes - this.lastBytes) / MB / seconds).toFixed(1);
    this.lastLineAt = nowMs;
    this.lastRecords = acknowledged;
    this.lastBytes = acknowledgedBytes;
    const publish = msText(this.recorder.recentP99Us(nowMs, 'publish'));
    const endToEnd = this.hasConsumers
      ? `, end-to-end p99 ${msText(this.recorder.recentP99Us(nowMs, 'endToEnd'))}, consumed ${this.consumed()}`
      : '';
    const elapsed = ((nowMs - this.recorder.measureStartMs) / 1000).toFixed(0);
    this.print(
      `  ${this.label}: ${elapsed} s, ${rate} records/s, ${mbps} MB/s, publish p99 ${publish}${endToEnd}, throttled ${throttled}, errors ${errors}`,
    );
  }

  private bar(nowMs: number): void {
    this.nextBar = nowMs + BAR_EVERY_MS;
    const fraction = Math.min(1, (nowMs - this.startMs) / (this.endMs - this.startMs));
    const filled = Math.round(fraction * BAR_WIDTH);
    process.stdout.write(`\r  [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${(fraction * 100).toFixed(0)}% ${this.label}`);
    this.barShown = true;
  }

  private print(text: string): void {
    this.clearBar();
    console.log(text);
  }

  private clearBar(): void {
    if (!this.barShown) return;
    process.stdout.write('\r\x1b[2K');
    this.barShown = false;
  }
}

/** "-" for a second in which nothing was observed: a stall, not a zero latency. */
function msText(micros: number | null): string {
  return micros === null ? '- (none in the last second)' : `${(micros / 1000).toFixed(2)} ms`;
}
