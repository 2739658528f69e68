import pg from 'pg';

/** Receives NOTIFY payloads of one channel; `onGap` runs when notifications may have been missed. */
export interface NotificationHandler {
  onNotify(payload: string): void;
  onGap(): void;
}

export type Unlisten = () => Promise<void>;

const RECONNECT_DELAYS_MS = [100, 500, 1_000, 2_000, 5_000];

/**
 * LISTEN on a PostgreSQL connection of its own (the pool's connections come and go). When the
 * connection drops it reconnects with backoff and reports a gap: notifications sent meanwhile
 * are lost, so listeners must re-read what they track.
 */
export async function listenPostgres(url: string, channel: string, handler: NotificationHandler): Promise<Unlisten> {
  let client: pg.Client | undefined;
  let stopped = false;
  let attempt = 0;

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url, application_name: 'gatehouse-listen' });
    next.on('notification', (message) => {
      if (message.channel === channel && message.payload) handler.onNotify(message.payload);
    });
    next.on('error', () => undefined); // 'end' follows and triggers the reconnect
    next.on('end', () => {
      if (stopped) return;
      client = undefined;
      scheduleReconnect();
    });
    await next.connect();
    await next.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
    client = next;
    attempt = 0;
  };

  const scheduleReconnect = () => {
    const delay = RECONNECT_DELAYS_MS[Math.min(attempt, RECONNECT_DELAYS_MS.length - 1)];
    attempt += 1;
    setTimeout(() => {
      if (stopped) return;
      connect()
        .then(() => handler.onGap())
        .catch(() => scheduleReconnect());
    }, delay).unref();
  };

  await connect();
  return async () => {
    stopped = true;
    await client?.end().catch(() => undefined);
  };
}
