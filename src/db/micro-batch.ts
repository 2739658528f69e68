interface Pending<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

export interface MicroBatchOptions {
  /** Most items in one write. @default 256 */
  maxBatch?: number;
  /** How long the first queued item waits for company, in milliseconds. @default 2 */
  maxDelayMs?: number;
}

/**
 * Group commit: callers add an item and wait; everything queued is written by one call of
 * `write` (one statement), which answers every item of the batch, in order. One write runs at a
 * time, so under load the batches grow by themselves while the previous one is in flight.
 */
export class MicroBatcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private closed = false;
  private readonly maxBatch: number;
  private readonly maxDelayMs: number;

  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    options: MicroBatchOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 256;
    this.maxDelayMs = options.maxDelayMs ?? 2;
  }

  add(item: I): Promise<O> {
    if (this.closed) return Promise.reject(new Error('the batch writer is closed'));
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.kick();
      else this.timer ??= setTimeout(() => this.kick(), this.maxDelayMs);
    });
  }

  /** Writes what is queued and stops accepting items. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length || this.writing) {
      this.kick();
      await this.writing;
    }
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.writing || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.maxBatch);
    this.writing = this.flush(batch).finally(() => {
      this.writing = undefined;
      if (this.queue.length) this.kick();
    });
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
