import type { Logger } from 'pino';
import type { Database } from './database.js';
import type { Unlisten } from './notifications.js';

export interface OutboxPumpOptions<T> {
  /** What the pump sends, for its log lines ("webhook delivery"). */
  what: string;
  listen: Database['listen'];
  /** Notified by a trigger for each new outbox row. */
  channel: string;
  /** How often to look for rows that fell due (retries, expired leases) besides being woken. */
  pollMs: number;
  logger: Logger;
  /** Claims due rows (with a lease, so that no two processes send one); empty when none is due. */
  claim(): Promise<T[]>;
  /** Sends one claimed row and records the outcome. */
  send(item: T): Promise<void>;
}

/**
 * The loop of an outbox worker, in every process at once: claims due rows and sends them until
 * none is due, woken by the outbox trigger's notice, by a lost-notice gap, and by a poll for
 * retries that fall due. Claims carry a lease, so a worker that dies mid-send only delays its
 * rows until the lease ends (at-least-once).
 */
export class OutboxPump<T> {
  private unlisten: Unlisten | undefined;
  private timer: NodeJS.Timeout | undefined;
  private due: { at: number; timer: NodeJS.Timeout } | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly options: OutboxPumpOptions<T>) {}

  async start(): Promise<void> {
    this.unlisten = await this.options.listen(this.options.channel, { onNotify: () => this.kick(), onGap: () => this.kick() });
    this.timer = setInterval(() => this.kick(), this.options.pollMs);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.due?.timer);
    await this.unlisten?.();
    await this.running;
  }

  /** Runs a pass in `delayMs` (a retry this process scheduled falls due), unless one is set sooner. */
  kickIn(delayMs: number): void {
    const at = Date.now() + delayMs;
    if (this.stopped || (this.due && this.due.at <= at)) return;
    clearTimeout(this.due?.timer);
    const timer = setTimeout(() => {
      this.due = undefined;
      this.kick();
    }, delayMs);
    timer.unref();
    this.due = { at, timer };
  }

  /** Runs a pass now, or once more after the current one. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((error: unknown) => this.options.logger.error({ err: error }, `${this.options.what} pass failed`))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const claimed = await this.options.claim();
      if (claimed.length === 0) return;
      // One failure must not abandon the rest of the batch outside the worker's accounting.
      const results = await Promise.allSettled(claimed.map((item) => this.options.send(item)));
      for (const result of results) {
        if (result.status === 'rejected') this.options.logger.error({ err: result.reason }, `${this.options.what} failed unexpectedly`);
      }
    }
  }
}
