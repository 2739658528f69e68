import http from 'node:http';
import https from 'node:https';
import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from 'pino';
import { Webhook } from 'standardwebhooks';
import { AuditEventRepository } from '../../audit/audit.repository.js';
import { recordAudit } from '../../audit/audit-recorder.js';
import { OutboxPump } from '../../db/outbox-pump.js';
import { publicAuditEvent } from '../../audit/audit.service.js';
import type { Config } from '../../config.js';
import { SecretBox } from '../../crypto/at-rest.js';
import type { Database } from '../../db/database.js';
import { guardedLookup, isPrivateLiteral } from './target-guard.js';
import { DeliveryStatus, type WebhookDelivery } from './webhook.entity.js';
import { WebhookDeliveryRepository, WebhookEndpointRepository } from './webhook.repository.js';
import { systemFork } from '../../db/tenant-scope.js';

export interface DeliveryWorkerOptions {
  orm: MikroORM;
  box: SecretBox;
  listen: Database['listen'];
  logger: Logger;
  allowPrivateTargets: boolean;
  timeoutMs: number;
  /** Seconds before each retry; its length is the number of retries. */
  retrySchedule: number[];
  disableAfterMs: number;
  concurrency: number;
  pollMs: number;
}

interface AttemptResult {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/** A claim outlives the longest attempt by this margin; after it another worker may take over. */
const CLAIM_MARGIN_SECONDS = 60;
const MAX_ERROR_LENGTH = 500;

/** POSTs a signed payload; resolves with what happened, never rejects. */
function post(url: string, body: string, headers: Record<string, string>, options: DeliveryWorkerOptions): Promise<AttemptResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const done = (statusCode: number | null, error: string | null) =>
      resolve({ statusCode, error: error?.slice(0, MAX_ERROR_LENGTH) ?? null, durationMs: Date.now() - started });
    const target = new URL(url);
    if (target.protocol !== 'https:' && !options.allowPrivateTargets) return done(null, 'refused: webhook URLs must use https');
    if (isPrivateLiteral(target, options.allowPrivateTargets)) return done(null, 'refused: private target address');
    const client = target.protocol === 'https:' ? https : http;
    const request = client.request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: guardedLookup(options.allowPrivateTargets),
      },
      (response) => {
        // Only the status matters; drain (bounded) and close.
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > 64 * 1024) response.destroy();
        });
        response.on('end', () => done(response.statusCode ?? null, null));
        response.on('error', () => done(response.statusCode ?? null, null));
        response.on('close', () => done(response.statusCode ?? null, null));
      },
    );
    // A deadline for the whole attempt (DNS, connect, a receiver trickling bytes), not just idle time.
    const deadline = setTimeout(() => request.destroy(new Error(`timed out after ${options.timeoutMs} ms`)), options.timeoutMs);
    request.on('close', () => clearTimeout(deadline));
    request.on('error', (error: NodeJS.ErrnoException) => done(null, error.code === 'EPRIVATETARGET' ? `refused: ${error.message}` : error.message));
    request.end(body);
  });
}

/** Notified for each new delivery (the webhook_notify migration). */
export const WEBHOOK_CHANNEL = 'gatehouse_webhook';

/**
 * Sends webhook deliveries from the outbox, in every process at once (`OutboxPump`): due rows
 * are claimed with FOR UPDATE SKIP LOCKED and a lease (`locked_until`), so no two workers send
 * the same attempt. Woken by a notice for each new delivery (a trigger on the outbox; see the
 * webhook_notify migration), by a lost-notice gap, and by a poll for retries that fall due.
 */
export class DeliveryWorker {
  private readonly pump: OutboxPump<WebhookDelivery>;

  constructor(private readonly options: DeliveryWorkerOptions) {
    this.pump = new OutboxPump({
      what: 'webhook delivery',
      listen: options.listen,
      channel: WEBHOOK_CHANNEL,
      pollMs: options.pollMs,
      logger: options.logger,
      claim: () => this.claim(),
      send: (delivery) => this.deliver(delivery),
    });
  }

  start(): Promise<void> {
    return this.pump.start();
  }

  stop(): Promise<void> {
    return this.pump.stop();
  }

  /** Runs a pass now, or once more after the current one. */
  kick(): void {
    this.pump.kick();
  }

  private async claim(): Promise<WebhookDelivery[]> {
    const em = systemFork(this.options.orm, 'webhook delivery: claims due deliveries of every environment');
    return new WebhookDeliveryRepository(em).claimDue(Math.ceil(this.options.timeoutMs / 1000) + CLAIM_MARGIN_SECONDS, this.options.concurrency);
  }

  private async deliver(delivery: WebhookDelivery): Promise<void> {
    const em = systemFork(this.options.orm, 'webhook delivery');
    const endpoint = await new WebhookEndpointRepository(em).find(delivery.endpointId);
    const event = await new AuditEventRepository(em).read(delivery.eventId);
    if (!endpoint || !endpoint.enabled) return this.finish(delivery, { statusCode: null, error: 'endpoint disabled', durationMs: 0 }, true);
    if (!event) return this.finish(delivery, { statusCode: null, error: 'event no longer exists (retention)', durationMs: 0 }, true);
    const body = JSON.stringify({ type: event.action, timestamp: new Date(event.occurredAt).toISOString(), data: publicAuditEvent(event) });
    const now = new Date();
    let signature: string;
    try {
      signature = new Webhook(this.options.box.open(endpoint.secretSealed, endpoint.id)).sign(delivery.id, now, body);
    } catch (error) {
      // Our misconfiguration, not the endpoint's failure: hand the delivery back untouched.
      this.options.logger.error({ err: error, endpointId: endpoint.id }, 'cannot open a webhook secret (wrong master key?)');
      await new WebhookDeliveryRepository(em).release(delivery);
      return;
    }
    const result = await post(
      endpoint.url,
      body,
      {
        'content-type': 'application/json',
        'user-agent': 'Gatehouse-Webhooks/1',
        'webhook-id': delivery.id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signature,
      },
      this.options,
    );
    await this.finish(delivery, result, false);
  }

  /** Records the attempt and the delivery's new state; disables an endpoint that keeps failing. */
  private async finish(delivery: WebhookDelivery, result: AttemptResult, final: boolean): Promise<void> {
    const succeeded = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
    const retries = this.options.retrySchedule;
    const exhausted = final || delivery.attempts > retries.length;
    const status = succeeded ? DeliveryStatus.SUCCEEDED : exhausted ? DeliveryStatus.FAILED : DeliveryStatus.PENDING;
    const delaySeconds = retries[Math.min(delivery.attempts - 1, retries.length - 1)] ?? 0;
    const error = result.error ?? (succeeded ? null : `HTTP ${result.statusCode}`);
    await systemFork(this.options.orm, 'webhook delivery').transactional(async (tx) => {
      const endpoints = new WebhookEndpointRepository(tx);
      // Endpoint row first, as deleting an endpoint does (then its deliveries): no lock-order deadlock.
      if (!(await endpoints.lockForOutcome(delivery.endpointId))) return; // deleted meanwhile, with its deliveries
      const owned = await new WebhookDeliveryRepository(tx).recordAttempt(delivery, {
        status,
        statusCode: result.statusCode,
        error,
        durationMs: result.durationMs,
        retryInSeconds: status === DeliveryStatus.PENDING ? delaySeconds : 0,
      });
      if (!owned) return;
      // Deliveries we could not even try (endpoint disabled, event pruned) say nothing about the endpoint.
      if (final) return;
      const endpoint = await endpoints.recordHealth(delivery.endpointId, succeeded);
      if (!endpoint || succeeded || status !== DeliveryStatus.FAILED || !endpoint.enabled) return;
      const failingFor = Date.now() - new Date(String(endpoint.failing_since)).getTime();
      if (failingFor < this.options.disableAfterMs) return;
      const reason = `disabled after failing for ${Math.round(failingFor / 60_000)} minutes; last error: ${error}`;
      await endpoints.disable(delivery.endpointId, reason);
      const workspaceId = await endpoints.workspaceOf(endpoint.environment_id);
      recordAudit(tx, { principal: null, meta: { requestId: `delivery:${delivery.id}`, ip: null, userAgent: 'gatehouse-webhooks' } }, {
        action: 'webhook_endpoint.disabled',
        workspaceId,
        environmentId: endpoint.environment_id,
        targets: [{ type: 'webhook_endpoint', id: delivery.endpointId, name: endpoint.url }],
        after: { enabled: false, reason },
      });
    });
    if (!succeeded) this.options.logger.warn({ deliveryId: delivery.id, status, error }, 'webhook delivery attempt failed');
  }
}

/** The worker's options from the configuration. */
export function deliveryWorkerOptions(config: Config, db: Database, masterKey: Buffer, logger: Logger): DeliveryWorkerOptions {
  return {
    orm: db.orm,
    box: new SecretBox(masterKey),
    listen: db.listen,
    logger,
    allowPrivateTargets: config.allowPrivateTargets,
    timeoutMs: config.webhookTimeoutMs,
    retrySchedule: config.webhookRetrySchedule,
    disableAfterMs: config.webhookDisableAfterMs,
    concurrency: config.webhookConcurrency,
    pollMs: config.webhookPollMs,
  };
}
