import type { NotificationHandler, Unlisten } from '../db/notifications.js';

export const AUDIT_CHANNEL = 'gatehouse_audit';

export interface Armed {
  /** Settles at the next committed event of the chain, a possible gap, or shutdown. */
  readonly fired: Promise<void>;
  dispose(): void;
}

/**
 * Wakes audit streams when events commit. The database sends one NOTIFY per chain and
 * committing transaction (a trigger; see the audit_notify migration), so every process on one
 * PostgreSQL database hears every commit; on PGlite the same happens within the process.
 * Notices carry no events: streams read them from the table after their own cursor, so a lost
 * notice (reconnect) costs latency, never an event.
 */
export class AuditBus {
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly commitListeners = new Set<(chainKey: string | null) => void>();
  private unlisten: Unlisten | undefined;
  private closed = false;

  static async start(listen: (channel: string, handler: NotificationHandler) => Promise<Unlisten>): Promise<AuditBus> {
    const bus = new AuditBus();
    bus.unlisten = await listen(AUDIT_CHANNEL, {
      onNotify: (chainKey) => bus.wake(chainKey),
      onGap: () => bus.wakeAll(),
    });
    return bus;
  }

  /**
   * Arms a wake-up for the chain. Arm before reading, then wait only if the read found
   * nothing new: a commit between the read and the wait still fires.
   */
  arm(chainKey: string): Armed {
    let release!: () => void;
    const fired = new Promise<void>((resolve) => (release = resolve));
    if (this.closed) {
      release();
      return { fired, dispose: () => undefined };
    }
    let set = this.waiters.get(chainKey);
    if (!set) this.waiters.set(chainKey, (set = new Set()));
    set.add(release);
    return {
      fired,
      dispose: () => {
        set.delete(release);
        if (set.size === 0 && this.waiters.get(chainKey) === set) this.waiters.delete(chainKey);
      },
    };
  }

  /**
   * Calls `listener` after every commit that wrote audit events, with the chain, or with null
   * when notices may have been missed (any chain may have new events).
   */
  onCommit(listener: (chainKey: string | null) => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeAll();
    await this.unlisten?.();
  }

  private wake(chainKey: string): void {
    // Listeners first: the shared chain tails must know of the commit before streams wake.
    for (const listener of this.commitListeners) listener(chainKey);
    for (const release of this.waiters.get(chainKey) ?? []) release();
  }

  private wakeAll(): void {
    for (const listener of this.commitListeners) listener(null);
    for (const set of this.waiters.values()) for (const release of set) release();
  }
}
