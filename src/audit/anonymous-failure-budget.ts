import type { AuditActor, AuditInput } from './audit-recorder.js';

/** Appends one audit event durably (the hot-path batcher). */
export type AuditAppend = (actor: AuditActor, input: AuditInput) => Promise<void>;

export interface AnonymousFailureBudgetOptions {
  /** Anonymous failures audited one by one per environment and window. */
  perWindow: number;
  /** @default 60000 (a minute) */
  windowMs?: number;
  /** Told when a summary could not be written. */
  onError?: (error: unknown) => void;
}

/** One environment's current window. */
interface Window {
  workspaceId: string | null;
  startedAt: Date;
  endsAt: number;
  audited: number;
  /** Failures not audited one by one, by action. */
  suppressed: Map<string, number>;
  timer: NodeJS.Timeout | undefined;
}

/** The actor of a summary: Gatehouse itself, counting on the callers' behalf. */
const SUMMARY_ACTOR: AuditActor = { principal: null, meta: { requestId: 'anonymous-failure-budget', ip: null, userAgent: 'gatehouse' } };
export const SUMMARY_ACTION = 'audit.failures_suppressed';

/**
 * Bounds how many anonymous failed authentications one environment's audit chain takes per
 * window. Anyone who knows an environment id can fail at its token endpoint, and the per-address
 * budget does not stop a caller with many addresses. Within the budget every failure is an
 * event of its own; beyond it failures are still refused by the caller but only counted, and
 * when the window ends one `audit.failures_suppressed` event records how many of each action
 * were left out. So the chain grows by at most `perWindow + 1` anonymous events per window and
 * process, and the trail still shows that an attack happened, when, and how large it was.
 */
export class AnonymousFailureBudget {
  private readonly windows = new Map<string, Window>();
  private readonly windowMs: number;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly append: AuditAppend,
    private readonly options: AnonymousFailureBudgetOptions,
  ) {
    this.windowMs = options.windowMs ?? 60_000;
  }

  /** Audits the failure while the environment's budget lasts (resolving once it is durable); otherwise counts it. */
  record(actor: AuditActor, input: AuditInput): Promise<void> {
    const environmentId = input.environmentId;
    if (!environmentId) return this.append(actor, input);
    const window = this.windowOf(environmentId, input.workspaceId);
    if (window.audited < this.options.perWindow) {
      window.audited += 1;
      return this.append(actor, input);
    }
    window.suppressed.set(input.action, (window.suppressed.get(input.action) ?? 0) + 1);
    // The summary is due when the window ends, whether or not more failures come.
    window.timer ??= setTimeout(() => this.track(this.summarise(environmentId)), Math.max(window.endsAt - Date.now(), 0)).unref();
    return Promise.resolve();
  }

  /** Writes the summaries of the windows still open; call before the writer closes. */
  async close(): Promise<void> {
    for (const environmentId of [...this.windows.keys()]) this.track(this.summarise(environmentId));
    await Promise.all(this.pending);
  }

  private windowOf(environmentId: string, workspaceId: string | null): Window {
    const current = this.windows.get(environmentId);
    if (current && Date.now() < current.endsAt) return current;
    // A window that ended with nothing suppressed has no timer and no summary: replace it.
    if (current) this.track(this.summarise(environmentId));
    const started = new Date();
    const window: Window = { workspaceId, startedAt: started, endsAt: started.getTime() + this.windowMs, audited: 0, suppressed: new Map(), timer: undefined };
    this.windows.set(environmentId, window);
    return window;
  }

  /** Ends an environment's window and records what it left out, if anything. */
  private async summarise(environmentId: string): Promise<void> {
    const window = this.windows.get(environmentId);
    if (!window) return;
    this.windows.delete(environmentId);
    clearTimeout(window.timer);
    if (window.suppressed.size === 0) return;
    await this.append(SUMMARY_ACTOR, {
      action: SUMMARY_ACTION,
      workspaceId: window.workspaceId,
      environmentId,
      targets: [{ type: 'environment', id: environmentId }],
      after: {
        suppressed: Object.fromEntries(window.suppressed),
        audited: window.audited,
        perWindow: this.options.perWindow,
        windowStart: window.startedAt.toISOString(),
        windowEnd: new Date(Math.min(window.endsAt, Date.now())).toISOString(),
      },
    });
  }

  private track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => this.options.onError?.(error)).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }
}
