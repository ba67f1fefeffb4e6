/** At most `max` tasks run at once; the others wait, urgent ones first, each kind in the order it came. */
export class Limiter {
  private running = 0;
  private readonly urgent: Array<() => void> = [];
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>, urgent = false): Promise<T> {
    if (this.running < this.max) this.running++;
    // Resumed with the slot of the task that ended.
    else await new Promise<void>((resolve) => (urgent ? this.urgent : this.waiting).push(resolve));
    try {
      return await task();
    } finally {
      const next = this.urgent.shift() ?? this.waiting.shift();
      if (next === undefined) this.running--;
      else next();
    }
  }
}
