import pg from 'pg';

/** Receives NOTIFY payloads of one channel; `onGap` runs when notifications may have been missed. */
export interface NotificationHandler {
  onNotify(payload: string): void;
  onGap(): void;
}

export type Unlisten = () => Promise<void>;

const RECONNECT_DELAYS_MS = [100, 500, 1_000, 2_000, 5_000];

/**
 * LISTEN on a PostgreSQL connection of its own (the pool's connections come and go). One
 * connection at a time: when it drops, a single reconnect loop retries with backoff, ending
 * every client that fails, and reports a gap once connected again (notifications sent while
 * disconnected are lost, so listeners re-read what they track).
 */
export async function listenPostgres(url: string, channel: string, handler: NotificationHandler): Promise<Unlisten> {
  let client: pg.Client | undefined;
  let stopped = false;
  let reconnecting = false;

  const open = async (): Promise<pg.Client> => {
    const next = new pg.Client({ connectionString: url, application_name: 'gatehouse-listen' });
    next.on('error', () => undefined); // a dropped connection also ends; 'end' handles it
    try {
      await next.connect();
      await next.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
    } catch (error) {
      await next.end().catch(() => undefined);
      throw error;
    }
    next.on('notification', (message) => {
      if (message.channel === channel && message.payload) handler.onNotify(message.payload);
    });
    next.once('end', () => {
      if (client !== next) return;
      client = undefined;
      void reconnect();
    });
    return next;
  };

  const reconnect = async (): Promise<void> => {
    if (reconnecting || stopped) return;
    reconnecting = true;
    try {
      for (let attempt = 0; !stopped; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAYS_MS[Math.min(attempt, RECONNECT_DELAYS_MS.length - 1)]).unref());
        if (stopped) return;
        try {
          const next = await open();
          if (stopped) {
            await next.end().catch(() => undefined);
            return;
          }
          client = next;
          handler.onGap();
          return;
        } catch {
          // try again after the next delay
        }
      }
    } finally {
      reconnecting = false;
    }
  };

  client = await open();
  return async () => {
    stopped = true;
    const current = client;
    client = undefined;
    await current?.end().catch(() => undefined);
  };
}
