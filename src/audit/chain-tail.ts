import type { EntityManager, MikroORM } from '@mikro-orm/core';
import type { AuditBus } from './audit-bus.js';
import type { AuditEvent } from './audit-event.entity.js';
import { AuditEventRepository } from './audit.repository.js';
import { systemFork } from '../db/tenant-scope.js';

/** Events of a chain kept in memory for live subscribers. */
const RECENT = 2000;
const FETCH_BATCH = 500;

/**
 * The newest events of one chain, read once per commit for every subscriber of this process.
 * Holds the contiguous run of sequences (floor, head]: a subscriber whose cursor is at or past
 * `floor` is served from memory; one further behind reads the table until it catches up.
 */
export class ChainTail {
  floor = 0n;
  head = 0n;
  recent: AuditEvent[] = [];
  private initialised = false;
  private dirty = true;
  private refreshing: Promise<void> | undefined;
  subscribers = 0;

  constructor(
    readonly chainKey: string,
    private readonly em: () => EntityManager,
  ) {}

  /** A commit may have added events. */
  touch(): void {
    this.dirty = true;
  }

  /** Brings `recent` up to date if a commit happened since the last read; shared by concurrent callers. */
  refresh(): Promise<void> {
    if (!this.dirty) return this.refreshing ?? Promise.resolve();
    if (this.refreshing) return this.refreshing.then(() => this.refresh());
    this.dirty = false;
    this.refreshing = this.read()
      .catch((error: unknown) => {
        // Try again on the next call; the caller backs off and retries rather than ending.
        this.dirty = true;
        throw error;
      })
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Events after `cursor` held in memory (empty when `cursor` is before `floor`: read the table). */
  after(cursor: bigint): AuditEvent[] {
    if (cursor < this.floor) return [];
    let low = 0;
    let high = this.recent.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (BigInt(this.recent[middle].seq) <= cursor) low = middle + 1;
      else high = middle;
    }
    return this.recent.slice(low);
  }

  private async read(): Promise<void> {
    const events = new AuditEventRepository(this.em());
    if (!this.initialised) {
      this.head = this.floor = BigInt((await events.chainHead(this.chainKey)) ?? '0');
      this.initialised = true;
      return;
    }
    for (;;) {
      const fetched = await events.chainEvents(this.chainKey, { after: this.head, limit: FETCH_BATCH });
      for (const event of fetched) this.recent.push(event);
      if (fetched.length) this.head = BigInt(String(fetched[fetched.length - 1].seq));
      if (this.recent.length > RECENT) {
        const dropped = this.recent.splice(0, this.recent.length - RECENT);
        this.floor = BigInt(String(dropped[dropped.length - 1].seq));
      }
      if (fetched.length < FETCH_BATCH) return;
    }
  }
}

/** One ChainTail per chain with subscribers in this process, kept current by the AuditBus. */
export class ChainTails {
  private readonly tails = new Map<string, ChainTail>();

  constructor(
    private readonly orm: MikroORM,
    bus: AuditBus,
  ) {
    bus.onCommit((chainKey) => {
      if (chainKey === null) for (const tail of this.tails.values()) tail.touch();
      else this.tails.get(chainKey)?.touch();
    });
  }

  acquire(chainKey: string): ChainTail {
    let tail = this.tails.get(chainKey);
    if (!tail) this.tails.set(chainKey, (tail = new ChainTail(chainKey, () => systemFork(this.orm, 'live audit: one chain tail shared by its subscribers, each filtered to its own scope'))));
    tail.subscribers += 1;
    return tail;
  }

  release(tail: ChainTail): void {
    tail.subscribers -= 1;
    if (tail.subscribers === 0 && this.tails.get(tail.chainKey) === tail) this.tails.delete(tail.chainKey);
  }
}
