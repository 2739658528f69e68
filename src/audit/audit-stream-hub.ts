import type { EntityManager } from '@mikro-orm/core';
import { requireScope } from '../auth/principal.js';
import { invalid } from '../errors/app-error.js';
import { environmentFor, type ServiceContext } from '../modules/service-context.js';
import type { AuditBus } from './audit-bus.js';
import type { AuditEvent } from './audit-event.entity.js';
import { AuditEventRepository } from './audit.repository.js';
import { auditEventMatcher, checkActionPatterns, type AuditEventFilter } from './audit.service.js';
import { chainKeyOf } from './chain.js';
import type { ChainTail, ChainTails } from './chain-tail.js';

/**
 * Live audit streams pushed to many subscribers at once.
 *
 * `openAuditStream` (audit.service.ts) gives every subscriber its own pull loop: one wake-up,
 * one tail lookup and one hand-off through several async generators per subscriber and event.
 * With a thousand subscribers that per-subscriber machinery, and the per-subscriber GraphQL
 * execution behind it, is what the one Node thread spends its time on. Here one `ChainStream`
 * per chain with subscribers in this process waits for commits, refreshes the shared
 * `ChainTail` once (one read per wake-up for all of them) and pushes the new events to each
 * subscriber's sink, synchronously when the sink's frame is ready. Per subscriber it keeps only
 * a cursor and a filter, so the guarantees stay those of `openAuditStream`: within a chain
 * sequence order is commit order, each subscriber advances its own cursor over every event
 * (matching or not), so none is missed or repeated, during a replay, at its end or across
 * reconnects; a subscriber behind the tail's memory reads the table in batches until it is
 * back; a sink that cannot take more (its peer stopped reading) is skipped and falls behind
 * instead of growing a buffer, and continues from its cursor when it has room again.
 */

/** Where a subscriber's events go (the transport: for GraphQL, a graphql-ws operation). */
export interface AuditStreamSink {
  /**
   * Sends one event that matched the filter. Returns a promise only when the sink must wait
   * for something first (its shared frame is still being rendered); the next event waits for it.
   */
  deliver(event: AuditEvent): void | Promise<void>;
  /**
   * Optional: gets the sink ready to deliver these events (those that `matches`) without
   * waiting, e.g. renders them. Called after each refresh for every subscriber at the start of
   * the new events, before any delivers them; equal sinks can share the work and the promise.
   */
  prepare?(events: readonly AuditEvent[], matches: (event: AuditEvent) => boolean): void | Promise<void>;
  /** True when the peer has not read what was sent: stop sending until `waitForRoom` calls back. */
  backedUp(): boolean;
  /** Called when delivery stopped on `backedUp()`; call `resume` once there is room again. */
  waitForRoom(resume: () => void): void;
  /** The stream ended: without an error when the bus closed (shutdown), with one when it failed. */
  end(error?: unknown): void;
}

export interface LiveAuditQuery {
  /** The chain read: the environment asked for (and reachable), or the workspace's own. */
  chainKey: string;
  filter: AuditEventFilter | null;
  /** Resume after this sequence; null: from the newest event on. */
  after: string | null;
}

export interface AuditStreamHandle {
  /** Stops delivery at once (the operation completed or its socket closed). */
  close(): void;
}

const SEQUENCE = /^\d{1,19}$/;
/** Rows per read of a subscriber behind the in-memory tail. */
const CATCH_UP_BATCH = 500;
/** Passes shorter than this are not followed by a pause (a few hundred subscribers or fewer). */
const MIN_COALESCE_MS = 2;
/** The longest pause between two passes over a chain's subscribers. */
const MAX_COALESCE_MS = 50;

/** The chain a stream reads: the environment asked for or pinned, else the workspace's own (as `openAuditStream`). */
function chainOf(ctx: ServiceContext, environmentId: string | null | undefined): string {
  const environment = environmentId || ctx.principal.environmentId ? environmentFor(ctx, environmentId) : null;
  return chainKeyOf({ environmentId: environment, workspaceId: ctx.principal.workspaceId });
}

/**
 * Checks a live audit subscription the way `openAuditStream` does (scope, cursor, filter,
 * environment), so a refusal is an error response before any stream exists, and returns what
 * the stream reads.
 */
export function liveAuditQuery(
  ctx: ServiceContext,
  options: { environmentId?: string | null; filter?: AuditEventFilter | null; after?: string | null },
): LiveAuditQuery {
  requireScope(ctx.principal, 'audit:read');
  if (options.after != null && !SEQUENCE.test(options.after)) {
    throw invalid('audit.invalid_cursor', '"after" must be the sequence of an audit event', ['after']);
  }
  const filter = options.filter ?? null;
  if (filter?.actions?.length) checkActionPatterns(filter.actions, ['filter', 'actions']);
  return { chainKey: chainOf(ctx, options.environmentId), filter, after: options.after ?? null };
}

/**
 * Events of one chain with `after < seq <= upTo`, oldest first, at most `limit`: the one read
 * of this module (a subscriber catching up to the in-memory tail), through the subscriber's own
 * EntityManager and so its tenant scope, without keeping the rows in its identity map. Filters
 * are applied by the caller in memory, as for live events. Kept in one function so it can move
 * to the audit repository.
 */
function readChainRange(em: EntityManager, chainKey: string, after: bigint, upTo: bigint, limit: number): Promise<AuditEvent[]> {
  return new AuditEventRepository(em).chainEvents(chainKey, { after, upTo, limit });
}

/** Events after a position, with their sequences as numbers (computed once for all members). */
interface Run {
  after: bigint;
  events: readonly AuditEvent[];
  seqs: readonly bigint[];
}

const runAfter = (tail: ChainTail, after: bigint): Run => {
  const events = tail.after(after);
  return { after, events, seqs: events.map((event) => BigInt(event.seq)) };
};

/**
 * One subscriber: a cursor, a filter and a sink. Delivery is synchronous while the sink's
 * frames are ready (the common case: no promise per subscriber and event); it continues
 * asynchronously only to read the table or to wait for a frame being rendered.
 */
class Member implements AuditStreamHandle {
  cursor = 0n;
  closed = false;
  /** Set once the cursor is known: pumps before that are ignored (the opener pumps then). */
  ready = false;
  private running = false;
  private again = false;
  private waiting = false;

  constructor(
    private readonly stream: ChainStream,
    readonly filterKey: string,
    private readonly matches: (event: AuditEvent) => boolean,
    private readonly sink: AuditStreamSink,
    private readonly em: EntityManager,
  ) {}

  /** Lets the sink get ready for a run of new events, if this member is at its start. */
  prepare(run: Run): void | Promise<void> {
    if (this.closed || !this.ready || this.cursor !== run.after) return undefined;
    return this.sink.prepare?.(run.events, this.matches);
  }

  /** Delivers what the tail holds after the cursor; called after every refresh of the tail. */
  pump(): void {
    if (this.closed || this.waiting || !this.ready) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.loop();
  }

  private loop(): void {
    for (;;) {
      this.again = false;
      let pending: Promise<void> | undefined;
      try {
        pending = this.drain();
      } catch (error) {
        this.running = false;
        this.fail(error);
        return;
      }
      if (pending) {
        pending.then(
          () => this.loop(),
          (error: unknown) => {
            this.running = false;
            this.fail(error);
          },
        );
        return;
      }
      if (!this.again || this.closed || this.waiting) {
        this.running = false;
        return;
      }
    }
  }

  /** Delivers until caught up, stopped, or waiting for something (then returns the promise to wait for). */
  private drain(): Promise<void> | undefined {
    const tail = this.stream.tail;
    while (!this.closed && !this.waiting) {
      if (this.cursor < tail.floor) return this.catchUp(tail);
      if (this.cursor >= tail.head) return undefined;
      const shared = this.stream.run;
      const run = shared && shared.after === this.cursor ? shared : runAfter(tail, this.cursor);
      if (run.events.length === 0) return undefined;
      const pending = this.deliver(run.events, run.seqs);
      if (pending) return pending;
    }
    return undefined;
  }

  /**
   * Delivers events in order from the cursor on, advancing it over every event (matching or
   * not). Returns a promise when a frame is not ready yet: nothing after it is sent before it.
   */
  private deliver(events: readonly AuditEvent[], seqs: readonly bigint[]): Promise<void> | undefined {
    for (let i = 0; i < events.length; i += 1) {
      if (this.closed || this.waiting) return undefined;
      const seq = seqs[i];
      if (seq <= this.cursor) continue;
      const event = events[i];
      if (this.matches(event)) {
        if (this.sink.backedUp()) {
          this.waitForRoom();
          return undefined;
        }
        const pending = this.sink.deliver(event);
        this.cursor = seq;
        if (pending) return pending;
      } else {
        this.cursor = seq;
      }
    }
    return undefined;
  }

  /**
   * Behind what memory holds (a replay, or a sink that was backed up for long): reads the table
   * up to the start of the in-memory run, one batch. The bound is taken before the read: the
   * tail may move on meanwhile, and the next pass starts from what was read.
   */
  private async catchUp(tail: ChainTail): Promise<void> {
    const floor = tail.floor;
    const events = await readChainRange(this.em, tail.chainKey, this.cursor, floor, CATCH_UP_BATCH);
    const seqs = events.map((event) => BigInt(event.seq));
    for (let from = 0; from < events.length; ) {
      const pending = this.deliver(events.slice(from), seqs.slice(from));
      if (!pending) break;
      await pending;
      from = seqs.findIndex((seq) => seq > this.cursor);
      if (from < 0) break;
    }
    if (events.length < CATCH_UP_BATCH && !this.closed && !this.waiting && this.cursor < floor) this.cursor = floor;
  }

  private waitForRoom(): void {
    this.waiting = true;
    this.sink.waitForRoom(() => {
      this.waiting = false;
      this.pump();
    });
  }

  fail(error: unknown): void {
    if (this.closed) return;
    this.close();
    this.sink.end(error);
  }

  /** Ends the stream without an error (the bus closed). */
  finish(): void {
    if (this.closed) return;
    this.close();
    this.sink.end();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.remove(this);
  }
}

/** A filter's matcher, shared by the members with an equal filter; remembers its last answer. */
function sharedMatcher(filter: AuditEventFilter | null): (event: AuditEvent) => boolean {
  const matches = auditEventMatcher(filter);
  let last: AuditEvent | undefined;
  let answer = false;
  return (event) => {
    if (event !== last) {
      answer = matches(event);
      last = event;
    }
    return answer;
  };
}

/** The subscribers of one chain in this process, woken once per commit of the chain. */
class ChainStream {
  readonly members = new Set<Member>();
  /** The events the last refresh added, for the members that were at its start (most of them). */
  run: Run | undefined;
  private readonly matchers = new Map<string, { matches: (event: AuditEvent) => boolean; members: number }>();
  private stop: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly hub: AuditStreamHub,
    readonly tail: ChainTail,
  ) {}

  join(filter: AuditEventFilter | null, sink: AuditStreamSink, em: EntityManager): Member {
    const filterKey = JSON.stringify(filter ?? null);
    let matcher = this.matchers.get(filterKey);
    if (!matcher) this.matchers.set(filterKey, (matcher = { matches: sharedMatcher(filter), members: 0 }));
    matcher.members += 1;
    const member = new Member(this, filterKey, matcher.matches, sink, em);
    this.members.add(member);
    return member;
  }

  /** Waits for commits and hands each refresh of the tail to every member, until none is left. */
  async loop(): Promise<void> {
    const { bus } = this.hub;
    const stopped = new Promise<void>((resolve) => (this.stop = resolve));
    let nextSweep = 0;
    try {
      while (!this.stopped && !bus.isClosed) {
        const armed = bus.arm(this.tail.chainKey);
        try {
          // Coalescing: a pass over many subscribers takes a while; the next one starts no
          // sooner than that long after it ended, so under load each pass carries more events
          // (one write per socket for all of them) and passes take at most about half the thread.
          const wait = nextSweep - performance.now();
          if (wait > 0) await Promise.race([new Promise((resolve) => setTimeout(resolve, wait)), stopped]);
          const started = performance.now();
          const before = this.tail.head;
          try {
            await this.tail.refresh();
          } catch {
            // The database is briefly unavailable: wait and retry instead of ending every stream.
            await Promise.race([new Promise((resolve) => setTimeout(resolve, 1000)), stopped]);
            continue;
          }
          const run = before >= this.tail.floor && before < this.tail.head ? runAfter(this.tail, before) : undefined;
          this.run = run;
          if (run) {
            // Frames first (one rendering per group of equal subscriptions), so that delivery
            // below is synchronous for everyone instead of a promise per subscriber and event.
            const preparing = new Set<Promise<void>>();
            for (const member of this.members) {
              const pending = member.prepare(run);
              if (pending) preparing.add(pending);
            }
            if (preparing.size) await Promise.all(preparing);
          }
          for (const member of this.members) member.pump();
          this.run = undefined;
          if (run) {
            // The writes of the pass leave on the next tick: count them in.
            await new Promise((resolve) => setImmediate(resolve));
            const took = performance.now() - started;
            nextSweep = took >= MIN_COALESCE_MS ? performance.now() + Math.min(took, MAX_COALESCE_MS) : 0;
          }
          await Promise.race([armed.fired, stopped]);
        } finally {
          armed.dispose();
        }
      }
    } finally {
      this.end();
    }
    // The bus closed (shutdown): streams end, as openAuditStream's do.
    for (const member of [...this.members]) member.finish();
  }

  remove(member: Member): void {
    if (!this.members.delete(member)) return;
    const matcher = this.matchers.get(member.filterKey);
    if (matcher && --matcher.members === 0) this.matchers.delete(member.filterKey);
    if (this.members.size === 0) this.end();
  }

  private end(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stop?.();
    this.hub.released(this);
  }

  get isStopped(): boolean {
    return this.stopped;
  }
}

/** The live audit streams of one process (one AuditBus). */
export class AuditStreamHub {
  private readonly streams = new Map<string, ChainStream>();

  constructor(
    readonly bus: AuditBus,
    private readonly tails: ChainTails,
  ) {}

  /**
   * Starts pushing the events of `query` to `sink`, reading the table with `em` when the
   * subscriber is behind the in-memory tail. Rejects (before anything is sent) when the cursor
   * is past the newest event of the chain.
   */
  async open(query: LiveAuditQuery, sink: AuditStreamSink, em: EntityManager): Promise<AuditStreamHandle> {
    let stream = this.streams.get(query.chainKey);
    if (!stream || stream.isStopped) {
      stream = new ChainStream(this, this.tails.acquire(query.chainKey));
      this.streams.set(query.chainKey, stream);
      void stream.loop();
    }
    const member = stream.join(query.filter, sink, em);
    try {
      await stream.tail.refresh();
      const head = stream.tail.head;
      const cursor = query.after === null ? head : BigInt(query.after);
      if (cursor > head) throw invalid('audit.invalid_cursor', '"after" is past the newest event of this stream', ['after']);
      member.cursor = cursor;
    } catch (error) {
      member.close();
      throw error;
    }
    if (this.bus.isClosed || stream.isStopped) {
      // Shutting down: the stream ends at once, as a pulled one does when the bus closes.
      member.finish();
      return member;
    }
    member.ready = true;
    member.pump();
    return member;
  }

  /** A chain stream with no members left stops; its tail is released. */
  released(stream: ChainStream): void {
    if (this.streams.get(stream.tail.chainKey) === stream) this.streams.delete(stream.tail.chainKey);
    this.tails.release(stream.tail);
  }

  /** Subscribers of this process, all chains (for tests and diagnostics). */
  get size(): number {
    let n = 0;
    for (const stream of this.streams.values()) n += stream.members.size;
    return n;
  }
}

const hubs = new WeakMap<AuditBus, AuditStreamHub>();

/** The process's hub for this bus (one per app). */
export function auditStreamHub(bus: AuditBus, tails: ChainTails): AuditStreamHub {
  let hub = hubs.get(bus);
  if (!hub) hubs.set(bus, (hub = new AuditStreamHub(bus, tails)));
  return hub;
}

const LIVE_AUDIT_STREAM = Symbol('gatehouse.liveAuditStream');

/**
 * What the `auditEvents` subscription resolves to: a checked query that a transport able to
 * push (the graphql-ws fanout) hands to the hub. Iterated like any source stream instead, it
 * is the pulled stream of `openAuditStream`, event by event.
 */
export class LiveAuditStream implements AsyncIterable<AuditEvent> {
  readonly [LIVE_AUDIT_STREAM] = true;
  /** The subscription argument that only positions the stream (where it resumes). */
  readonly positionArgument = 'after';

  constructor(
    readonly hub: AuditStreamHub,
    readonly query: LiveAuditQuery,
    /** Reads the table for a subscriber behind the in-memory tail. */
    readonly em: EntityManager,
    private readonly pull: () => AsyncIterator<AuditEvent>,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<AuditEvent> {
    return this.pull();
  }
}

export function isLiveAuditStream(value: unknown): value is LiveAuditStream {
  return typeof value === 'object' && value !== null && (value as { [LIVE_AUDIT_STREAM]?: boolean })[LIVE_AUDIT_STREAM] === true;
}
