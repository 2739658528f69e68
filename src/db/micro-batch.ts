interface Pending<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

export interface MicroBatchOptions {
  /** Most items in one write. @default 256 */
  maxBatch?: number;
  /** How long the first queued item waits for company, in milliseconds; 0 waits for the end of the current event-loop turn. @default 2 */
  maxDelayMs?: number;
  /** Writes in flight at once: more overlap one write's round trip and commit with the next. @default 1 */
  maxInFlight?: number;
}

/**
 * Group commit: callers add an item and wait; everything queued is written by one call of
 * `write` (one statement), which answers every item of the batch, in order. At most
 * `maxInFlight` writes run at a time, so under load the batches grow by themselves while the
 * previous ones are in flight.
 */
export class MicroBatcher<I, O> {
  private queue: Pending<I, O>[] = [];
  /** Cancels the pending delayed flush, when one is armed. */
  private cancelTimer: (() => void) | undefined;
  private readonly writing = new Set<Promise<void>>();
  private closed = false;
  private readonly maxBatch: number;
  private readonly maxDelayMs: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    options: MicroBatchOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 256;
    this.maxDelayMs = options.maxDelayMs ?? 2;
    this.maxInFlight = options.maxInFlight ?? 1;
  }

  add(item: I): Promise<O> {
    if (this.closed) return Promise.reject(new Error('the batch writer is closed'));
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.kick();
      else this.cancelTimer ??= this.arm();
    });
  }

  /** Writes what is queued and stops accepting items. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length || this.writing.size) {
      this.kick();
      await Promise.all(this.writing);
    }
  }

  private arm(): () => void {
    if (this.maxDelayMs === 0) {
      const immediate = setImmediate(() => this.kick());
      return () => clearImmediate(immediate);
    }
    const timeout = setTimeout(() => this.kick(), this.maxDelayMs);
    return () => clearTimeout(timeout);
  }

  private kick(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    while (this.writing.size < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const write: Promise<void> = this.flush(batch).finally(() => {
        this.writing.delete(write);
        if (this.queue.length) this.kick();
      });
      this.writing.add(write);
    }
  }

  private async flush(batch: Pending<I, O>[]): Promise<void> {
    try {
      const results = await this.write(batch.map((pending) => pending.item));
      batch.forEach((pending, index) => pending.resolve(results[index]));
    } catch (error) {
      if (batch.length === 1) {
        batch[0].reject(error);
        return;
      }
      // One bad item must not fail its neighbours (other requests, other tenants): each is
      // written on its own, and only the ones that fail again see an error.
      for (const pending of batch) await this.flush([pending]);
    }
  }
}
