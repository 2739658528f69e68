import pg from 'pg';

/** Receives NOTIFY payloads of one channel; `onGap` runs when notifications may have been missed. */
export interface NotificationHandler {
  onNotify(payload: string): void;
  onGap(): void;
}

export type Unlisten = () => Promise<void>;

const RECONNECT_DELAYS_MS = [100, 500, 1_000, 2_000, 5_000];
const quote = (channel: string) => `"${channel.replace(/"/g, '""')}"`;

/**
 * LISTEN on PostgreSQL for every channel of a process over one connection of its own (the
 * pool's connections come and go). When it drops, a single reconnect loop retries with
 * backoff, ending every client that fails, LISTENs again to every channel and reports a gap to
 * every handler (notifications sent while disconnected are lost, so listeners re-read what
 * they track).
 */
export class PostgresListener {
  private readonly channels = new Map<string, Set<NotificationHandler>>();
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private reconnecting = false;
  private stopped = false;

  constructor(private readonly url: string) {}

  async listen(channel: string, handler: NotificationHandler): Promise<Unlisten> {
    let handlers = this.channels.get(channel);
    const first = !handlers;
    if (!handlers) this.channels.set(channel, (handlers = new Set()));
    handlers.add(handler);
    try {
      const client = await this.connected();
      if (first && this.client === client) await client.query(`LISTEN ${quote(channel)}`);
    } catch (error) {
      handlers.delete(handler);
      if (handlers.size === 0) this.channels.delete(channel);
      throw error;
    }
    return async () => {
      handlers.delete(handler);
      if (handlers.size > 0 || this.channels.get(channel) !== handlers) return;
      this.channels.delete(channel);
      if (this.channels.size === 0) await this.close();
      else await this.client?.query(`UNLISTEN ${quote(channel)}`).catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    this.stopped = true;
    const current = this.client;
    this.client = undefined;
    await current?.end().catch(() => undefined);
  }

  private async connected(): Promise<pg.Client> {
    if (this.client) return this.client;
    this.stopped = false;
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async open(): Promise<pg.Client> {
    const next = new pg.Client({ connectionString: this.url, application_name: 'gatehouse-listen' });
    next.on('error', () => undefined); // a dropped connection also ends; 'end' handles it
    try {
      await next.connect();
      for (const channel of this.channels.keys()) await next.query(`LISTEN ${quote(channel)}`);
    } catch (error) {
      await next.end().catch(() => undefined);
      throw error;
    }
    next.on('notification', (message) => {
      if (!message.payload) return;
      for (const handler of this.channels.get(message.channel) ?? []) handler.onNotify(message.payload);
    });
    next.once('end', () => {
      if (this.client !== next) return;
      this.client = undefined;
      void this.reconnect();
    });
    this.client = next;
    return next;
  }

  private async reconnect(): Promise<void> {
    if (this.reconnecting || this.stopped) return;
    this.reconnecting = true;
    try {
      for (let attempt = 0; !this.stopped; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAYS_MS[Math.min(attempt, RECONNECT_DELAYS_MS.length - 1)]).unref());
        if (this.stopped) return;
        try {
          const next = await this.open();
          if (this.stopped) {
            this.client = undefined;
            await next.end().catch(() => undefined);
            return;
          }
          for (const handlers of this.channels.values()) for (const handler of handlers) handler.onGap();
          return;
        } catch {
          // try again after the next delay
        }
      }
    } finally {
      this.reconnecting = false;
    }
  }
}
