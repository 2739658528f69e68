import type { Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  createSourceEventStream,
  execute,
  getOperationAST,
  GraphQLError,
  Kind,
  visit,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type VariableNode,
} from 'graphql';
import type { WebSocket } from 'ws';
import type { AuditEvent } from '../audit/audit-event.entity.js';
import { isLiveAuditStream, type AuditStreamHandle, type AuditStreamSink, type LiveAuditStream } from '../audit/audit-stream-hub.js';
import type { Principal } from '../auth/principal.js';
import type { GraphQLContext } from './context.js';

/**
 * Shared execution of live audit subscriptions over graphql-ws.
 *
 * graphql-ws runs a subscription's selection set, formats the result and serialises the
 * `next` message once per subscriber and event. Here the subscribers of this process that sent
 * the same document and operation name with the same variables (those that only position the
 * stream, `after`, aside) and whose keys grant exactly the same (workspace, environments,
 * scopes) form one group: each event is executed, formatted and serialised once per group, and
 * every member's `next` frame is that JSON between its own operation id and a closing brace.
 * What each subscriber receives stays its own: the events come from the audit stream hub,
 * which keeps a cursor and a filter per subscriber; only the rendering of an event is shared,
 * and it can only depend on what the group key holds (the resolvers of a subscription read
 * their root event and arguments; the context they get is that of the group's first member,
 * which has the same authorization).
 *
 * The frames are written on the WebSocket directly, bypassing graphql-ws's per-message
 * serialisation; graphql-ws still runs the operation's lifecycle (subscribe, errors before
 * the stream, `complete` from either side, closing) around an iterator that yields nothing and
 * ends when the stream does. A socket whose peer stops reading is skipped until it drains, and
 * closed with 4413 (slow consumer) when it has not drained within `subscriptionStallMs`.
 */

/** Close code for a subscriber that stopped reading (the WebSocket application range, 4000–4999). */
export const SLOW_CONSUMER_CLOSE_CODE = 4413;
/** Bytes a socket may hold unsent before its streams wait for it to drain. */
const HIGH_WATER = 64 * 1024;
/** Rendered events kept per group, for members a few events behind the others. */
const FRAMES_PER_GROUP = 256;
/** Events of a run rendered before its delivery starts (see ExecutionGroup.prepare). */
const PREPARED_PER_RUN = 32;
/** How often a backed-up socket is checked besides its `drain` event. */
const ROOM_POLL_MS = 100;

/** What onSubscribe knows about an operation that the execution arguments do not carry. */
export interface FanoutOperation {
  socket: WebSocket;
  id: string;
  /** The document's text as sent: part of the sharing key. */
  query: string;
  /** Aborts when the operation completes or the socket closes. */
  signal: AbortSignal;
}

export interface FanoutStats {
  /** Live audit subscriptions served by the fanout. */
  subscriptions: number;
  /** Groups of subscriptions sharing one execution per event, now. */
  groups: number;
  /** Executions of a selection set for an event, since the start. */
  executions: number;
  /** `next` frames written, since the start. */
  frames: number;
  /** Of those, frames written on the raw socket (`textFrame`) rather than through `ws.send`. */
  directFrames: number;
}

const DONE: IteratorResult<never> = { done: true, value: undefined as never };

/**
 * The iterator graphql-ws drives for a fanned-out operation: it yields nothing (the frames are
 * written directly) and settles when the stream ends, with the stream's error if it failed.
 * `return()` (client `complete`, socket closed) stops the stream at once.
 */
class OperationControl implements AsyncIterableIterator<ExecutionResult> {
  private outcome: { error?: unknown } | undefined;
  private waiter: { resolve(result: IteratorResult<ExecutionResult>): void; reject(error: unknown): void } | undefined;

  constructor(private readonly onReturn: () => void) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    // Settled lazily: a rejected promise nobody awaits yet would be an unhandled rejection.
    if (this.outcome) return this.outcome.error !== undefined ? Promise.reject(this.outcome.error) : Promise.resolve(DONE);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    this.end();
    this.onReturn();
    return Promise.resolve(DONE);
  }

  end(error?: unknown): void {
    if (this.outcome) return;
    this.outcome = error === undefined ? {} : { error };
    const waiter = this.waiter;
    this.waiter = undefined;
    if (!waiter) return;
    if (error === undefined) waiter.resolve(DONE);
    else waiter.reject(error);
  }
}

/** One execution (and serialisation) per event for all subscriptions with the same key. */
class ExecutionGroup {
  members = 0;
  private readonly frames = new Map<string, string | Promise<string>>();
  private lastEvent: AuditEvent | undefined;
  private lastPayload: string | Promise<string> | undefined;
  private prepared: { events?: readonly AuditEvent[]; wait?: Promise<void> } = {};

  constructor(
    readonly key: string,
    private readonly args: ExecutionArgs,
    private readonly format: (errors: readonly GraphQLError[]) => GraphQLFormattedError[],
    private readonly stats: FanoutStats,
  ) {}

  /**
   * Renders the first events that match, once for the group; a promise while some are
   * rendering. A long run (a burst of commits) is rendered as it is delivered instead, so the
   * first frames leave without waiting for the last ones.
   */
  prepare(events: readonly AuditEvent[], matches: (event: AuditEvent) => boolean): void | Promise<void> {
    if (events === this.prepared.events) return this.prepared.wait;
    const pending: Promise<string>[] = [];
    let prepared = 0;
    for (const event of events) {
      if (!matches(event)) continue;
      if (++prepared > PREPARED_PER_RUN) break;
      const payload = this.payload(event);
      if (typeof payload !== 'string') pending.push(payload);
    }
    const wait = pending.length ? Promise.all(pending).then(() => undefined) : undefined;
    this.prepared = { events, wait };
    return wait;
  }

  /** The `payload` JSON of this group's `next` message for the event. */
  payload(event: AuditEvent): string | Promise<string> {
    // Members of a group mostly ask for the same event one after the other.
    if (event === this.lastEvent && this.lastPayload !== undefined) return this.lastPayload;
    const seq = String(event.seq);
    let rendered = this.frames.get(seq);
    if (rendered === undefined) {
      const fresh = this.render(event);
      rendered = fresh;
      this.frames.set(seq, fresh);
      if (this.frames.size > FRAMES_PER_GROUP) this.frames.delete(this.frames.keys().next().value as string);
      if (typeof fresh !== 'string') {
        void fresh.then((json) => {
          if (this.frames.get(seq) === fresh) this.frames.set(seq, json);
          if (this.lastPayload === fresh) this.lastPayload = json;
        });
      }
    }
    this.lastEvent = event;
    this.lastPayload = rendered;
    return rendered;
  }

  private render(event: AuditEvent): string | Promise<string> {
    this.stats.executions += 1;
    let result: ReturnType<typeof execute>;
    try {
      result = execute({ ...this.args, rootValue: event });
    } catch (error) {
      return this.serialise(failure(error));
    }
    if (isPromiseLike(result)) return Promise.resolve(result).then((value) => this.serialise(value), (error: unknown) => this.serialise(failure(error)));
    return this.serialise(result);
  }

  /** As graphql-ws's `onNext` hook formats a result (websocket.ts), then as it serialises it. */
  private serialise(result: ExecutionResult): string {
    return JSON.stringify(result.errors ? { ...result, errors: this.format(result.errors) } : result);
  }
}

function failure(error: unknown): ExecutionResult {
  const graphqlError =
    error instanceof GraphQLError ? error : new GraphQLError(error instanceof Error ? error.message : String(error), { originalError: error as Error });
  return { errors: [graphqlError] };
}

function isPromiseLike<T>(value: unknown): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === 'function';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function';
}

/**
 * Writes made on one socket during one tick leave in one system call: a burst of events (or
 * several subscriptions of one connection) costs one write per socket, not one per frame.
 */
const corked = new Set<Duplex>();
function uncorkAll(): void {
  const sockets = [...corked];
  corked.clear();
  for (const raw of sockets) raw.uncork();
}
function corkForThisTick(raw: Duplex | undefined): void {
  if (!raw || corked.has(raw)) return;
  if (corked.size === 0) process.nextTick(uncorkAll);
  corked.add(raw);
  raw.cork();
}

const rawSocketOf = (socket: WebSocket): Duplex | undefined => (socket as unknown as { _socket?: Duplex })._socket;

/** What of `ws`'s sender tells whether a frame may be written on its socket directly. */
interface SenderState {
  _state?: number;
  _queue?: unknown[];
  _extensions?: Record<string, unknown>;
}

/**
 * The raw socket of a WebSocket on which a frame written directly lands in order: `ws` writes
 * every frame synchronously unless its sender is compressing or queueing (state 0, empty
 * queue), and the server never negotiates permessage-deflate. Otherwise undefined, and the
 * frame goes through `ws.send`.
 */
function directSocketOf(socket: WebSocket): Duplex | undefined {
  const sender = (socket as unknown as { _sender?: SenderState })._sender;
  if (!sender || sender._state !== 0 || sender._queue?.length || Object.keys(sender._extensions ?? {}).length) return undefined;
  return rawSocketOf(socket);
}

/** The UTF-8 bytes of the payload being delivered: every member of every group writes the same one in a row. */
let lastPayload = '';
let lastPayloadBytes = Buffer.alloc(0);
function payloadBytes(payload: string): Buffer {
  if (payload !== lastPayload) {
    lastPayload = payload;
    lastPayloadBytes = Buffer.from(payload, 'utf8');
  }
  return lastPayloadBytes;
}

/**
 * An unmasked, final text frame (RFC 6455 §5.2) holding `prefix`, `payload` and `}` in one
 * buffer: one allocation and one queued write per frame, where `ws.send` of the concatenated
 * string costs a string, its UTF-8 copy, a header buffer and two writes.
 */
export function textFrame(prefix: Buffer, payload: Buffer): Buffer {
  const length = prefix.length + payload.length + 1;
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81; // FIN + text
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(0, 2);
    frame.writeUInt32BE(length, 6);
  }
  prefix.copy(frame, header);
  payload.copy(frame, header + prefix.length);
  frame[header + length - 1] = 0x7d; // }
  return frame;
}

/**
 * The streams of one socket waiting for it to drain (several subscriptions may share a
 * connection): one `drain` listener, poll and stall timer per socket, not per subscription.
 * When the socket has not drained within `stallMs` it is closed with 4413.
 */
class Room {
  private readonly waiting = new Set<() => void>();
  private stop: (() => void) | undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly stallMs: number,
  ) {}

  wait(resume: () => void): void {
    this.waiting.add(resume);
    if (this.stop) return;
    const { socket } = this;
    const raw = rawSocketOf(socket);
    const check = () => {
      if (socket.readyState !== socket.OPEN) {
        this.waiting.clear();
        return this.stop?.();
      }
      if (socket.bufferedAmount > HIGH_WATER) return;
      const resumes = [...this.waiting];
      this.waiting.clear();
      this.stop?.();
      for (const next of resumes) next();
    };
    const stall = setTimeout(() => {
      this.waiting.clear();
      this.stop?.();
      // As watchConsumer does for a pulled stream: the peer has not read for too long.
      socket.close(SLOW_CONSUMER_CLOSE_CODE, `Slow consumer: an event waited over ${this.stallMs} ms to be sent`);
    }, this.stallMs);
    const poll = setInterval(check, ROOM_POLL_MS);
    raw?.on('drain', check);
    this.stop = () => {
      clearTimeout(stall);
      clearInterval(poll);
      raw?.off('drain', check);
      this.stop = undefined;
    };
  }

  cancel(resume: () => void): void {
    this.waiting.delete(resume);
    if (this.waiting.size === 0) this.stop?.();
  }
}

const rooms = new WeakMap<WebSocket, Room>();
function roomOf(socket: WebSocket, stallMs: number): Room {
  let room = rooms.get(socket);
  if (!room) rooms.set(socket, (room = new Room(socket, stallMs)));
  return room;
}

/** Writes one operation's frames on its WebSocket. */
class SocketSink implements AuditStreamSink {
  handle: AuditStreamHandle | undefined;
  private readonly prefix: string;
  private readonly prefixBytes: Buffer;
  private closed = false;
  private cancelWait: (() => void) | undefined;

  constructor(
    private readonly operation: FanoutOperation,
    private readonly group: ExecutionGroup,
    private readonly control: OperationControl,
    private readonly stallMs: number,
    private readonly stats: FanoutStats,
  ) {
    this.prefix = `{"id":${JSON.stringify(operation.id)},"type":"next","payload":`;
    this.prefixBytes = Buffer.from(this.prefix, 'utf8');
  }

  prepare(events: readonly AuditEvent[], matches: (event: AuditEvent) => boolean): void | Promise<void> {
    return this.group.prepare(events, matches);
  }

  deliver(event: AuditEvent): void | Promise<void> {
    const payload = this.group.payload(event);
    if (typeof payload === 'string') return this.write(payload);
    return payload.then((json) => this.write(json));
  }

  /** The `next` message graphql-ws would send, without serialising the payload again. */
  private write(payload: string): void {
    const { socket } = this.operation;
    if (this.closed || socket.readyState !== socket.OPEN) return;
    this.stats.frames += 1;
    const direct = directSocketOf(socket);
    if (direct) {
      corkForThisTick(direct);
      this.stats.directFrames += 1;
      direct.write(textFrame(this.prefixBytes, payloadBytes(payload)));
      return;
    }
    corkForThisTick(rawSocketOf(socket));
    socket.send(this.prefix + payload + '}');
  }

  backedUp(): boolean {
    return this.operation.socket.bufferedAmount > HIGH_WATER;
  }

  waitForRoom(resume: () => void): void {
    const room = roomOf(this.operation.socket, this.stallMs);
    room.wait(resume);
    this.cancelWait = () => room.cancel(resume);
  }

  end(error?: unknown): void {
    this.close();
    this.control.end(error);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelWait?.();
    this.handle?.close();
  }
}

/** Sorted-key JSON: equal values give equal strings whatever the key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item && typeof item === 'object' && !Array.isArray(item) && !(item instanceof Date)
      ? Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}

/**
 * Variables used only as the root field's `argument` (the stream's resume position): they
 * choose where a subscriber's stream starts, not how an event renders, so they are left out of
 * the sharing key. A variable used anywhere else as well stays in it.
 */
function positionOnlyVariables(document: DocumentNode, operationName: string | null | undefined, argument: string): Set<string> {
  const operation = getOperationAST(document, operationName);
  const positional = new Set<VariableNode>();
  for (const selection of operation?.selectionSet.selections ?? []) {
    if (selection.kind !== Kind.FIELD) continue;
    for (const arg of selection.arguments ?? []) if (arg.name.value === argument && arg.value.kind === Kind.VARIABLE) positional.add(arg.value);
  }
  if (positional.size === 0) return new Set();
  const definitions = new Set<VariableNode>();
  const onlyPositional = new Set<string>();
  const elsewhere = new Set<string>();
  visit(document, {
    VariableDefinition(node) {
      definitions.add(node.variable);
    },
    Variable(node) {
      if (definitions.has(node)) return;
      if (positional.has(node)) onlyPositional.add(node.name.value);
      else elsewhere.add(node.name.value);
    },
  });
  for (const name of elsewhere) onlyPositional.delete(name);
  return onlyPositional;
}

/** What the key grants: two principals with equal keys here may share a rendering. */
const authorizationKey = (principal: Principal) => [
  principal.type,
  principal.workspaceId,
  principal.environmentId,
  [...principal.environmentIds].sort(),
  [...principal.scopes].sort(),
];

const fanouts = new WeakMap<HttpServer, SubscriptionFanout>();

/** The fanout serving graphql-ws on this HTTP server (tests read its stats). */
export function subscriptionFanoutOf(server: HttpServer): SubscriptionFanout | undefined {
  return fanouts.get(server);
}

export class SubscriptionFanout {
  readonly stats: FanoutStats = { subscriptions: 0, groups: 0, executions: 0, frames: 0, directFrames: 0 };
  private readonly operations = new WeakMap<object, FanoutOperation>();
  private readonly groups = new Map<string, ExecutionGroup>();

  constructor(
    private readonly format: (errors: readonly GraphQLError[]) => GraphQLFormattedError[],
    server?: HttpServer,
  ) {
    if (server) fanouts.set(server, this);
  }

  /** Ties an operation's context to its socket and id (from onSubscribe). */
  register(context: object, operation: FanoutOperation): void {
    this.operations.set(context, operation);
  }

  /**
   * graphql-ws's `subscribe`: resolves the source stream as graphql-js does (the subscription
   * resolver checks scope, environment, filter and cursor; a refusal is an error result), then
   * fans a live audit stream out, or maps any other source per event as graphql-js would.
   */
  async subscribe(args: ExecutionArgs): Promise<AsyncIterable<ExecutionResult> | ExecutionResult> {
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source;
    const operation = this.operations.get(args.contextValue as object);
    if (!operation || !isLiveAuditStream(source)) return mapSourceToResponse(source, args);
    return this.fanOut(source, args, operation);
  }

  private fanOut(stream: LiveAuditStream, args: ExecutionArgs, operation: FanoutOperation): AsyncIterable<ExecutionResult> {
    const context = args.contextValue as GraphQLContext;
    const group = this.join(stream, args, operation, context);
    let sink: SocketSink | undefined;
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      sink?.close();
      this.stats.subscriptions -= 1;
      if (--group.members === 0 && this.groups.get(group.key) === group) {
        this.groups.delete(group.key);
        this.stats.groups = this.groups.size;
      }
    };
    const control = new OperationControl(leave);
    sink = new SocketSink(operation, group, control, context.config.subscriptionStallMs, this.stats);
    this.stats.subscriptions += 1;
    const abort = () => {
      control.end();
      leave();
    };
    if (operation.signal.aborted) abort();
    else operation.signal.addEventListener('abort', abort, { once: true });
    stream.hub.open(stream.query, sink, stream.em).then(
      (handle) => {
        if (left) handle.close();
        else sink.handle = handle;
      },
      (error: unknown) => {
        // A cursor past the head: the operation fails as a pulled stream's first read would.
        control.end(error);
        leave();
      },
    );
    return control;
  }

  private join(stream: LiveAuditStream, args: ExecutionArgs, operation: FanoutOperation, context: GraphQLContext): ExecutionGroup {
    const variables = { ...(args.variableValues ?? {}) };
    for (const name of positionOnlyVariables(args.document, args.operationName, stream.positionArgument)) delete variables[name];
    const key = canonicalJson([
      operation.query,
      args.operationName ?? null,
      variables,
      authorizationKey(context.principal),
      stream.query.chainKey,
      stream.query.filter,
    ]);
    let group = this.groups.get(key);
    if (!group) {
      // The first member's arguments and context render for all: neither its socket nor its
      // cursor takes part (the context's connection is left out).
      const shared: GraphQLContext = { ...context, connection: undefined };
      group = new ExecutionGroup(key, { ...args, contextValue: shared }, this.format, this.stats);
      this.groups.set(key, group);
      this.stats.groups = this.groups.size;
    }
    group.members += 1;
    return group;
  }
}

/** graphql-js's own mapping of a source stream: one execution per event and subscriber. */
async function* mapSourceToResponse(source: AsyncIterable<unknown>, args: ExecutionArgs): AsyncGenerator<ExecutionResult> {
  for await (const payload of source) yield await execute({ ...args, rootValue: payload });
}
