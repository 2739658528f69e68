import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { paginate, type PageArgs } from '../../db/pagination.js';
import { Repository } from '../../db/repository.js';
import { entityCondition, groupByParent, rowMapper } from '../../db/rows.js';
import { sql, tableOf } from '../../db/sql.js';
import { scopeOf, TenantScopeViolation } from '../../db/tenant-scope.js';
import { Environment } from '../environment/environment.entity.js';
import { DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint } from './webhook.entity.js';

/** Refuses an EntityManager that is not a `systemFork`: the delivery worker's statements span tenants. */
function requireSystem(em: EntityManager, what: string): void {
  if (scopeOf(em).kind !== 'system') throw new TenantScopeViolation(`${what} spans tenants: use a systemFork`);
}

/** Webhook endpoints of the scope's environments. */
export class WebhookEndpointRepository extends Repository<WebhookEndpoint> {
  constructor(em: EntityManager) {
    super(em, WebhookEndpoint, 'webhook_endpoint');
  }

  /** A page of an environment's endpoints, oldest first. */
  list(environmentId: string, args: PageArgs, maxPageSize: number) {
    return paginate(this.em, WebhookEndpoint, { environmentId }, { field: 'createdAt', direction: 'ASC' }, args, maxPageSize);
  }

  countIn(environmentId: string): Promise<number> {
    return this.em.count(WebhookEndpoint, { environmentId });
  }

  /**
   * The delivery worker's lock on an endpoint before it records an outcome, taken first as
   * deleting an endpoint does (then its deliveries), so the two never deadlock. False when the
   * endpoint was deleted meanwhile.
   */
  async lockForOutcome(id: string): Promise<boolean> {
    requireSystem(this.em, 'the delivery worker');
    const rows = await sql(this.em, `select "id" from "${tableOf(this.em, WebhookEndpoint)}" where "id" = ? for update`, [id]);
    return rows.length > 0;
  }

  /**
   * Records whether the endpoint's last attempt succeeded: clears its failure streak, or starts
   * one if none is running. Returns the endpoint's state after the change.
   */
  async recordHealth(
    id: string,
    succeeded: boolean,
  ): Promise<{ failing_since: string | Date | null; enabled: boolean; url: string; environment_id: string } | undefined> {
    requireSystem(this.em, 'the delivery worker');
    const [endpoint] = await sql<{ failing_since: string | Date | null; enabled: boolean; url: string; environment_id: string }>(
      this.em,
      `update "${tableOf(this.em, WebhookEndpoint)}" set "failing_since" = ${succeeded ? 'null' : 'coalesce("failing_since", now())'}
          where "id" = ? returning "failing_since", "enabled", "url", "environment_id"`,
      [id],
    );
    return endpoint;
  }

  /** Disables an endpoint that kept failing, saying why. */
  async disable(id: string, reason: string): Promise<void> {
    requireSystem(this.em, 'the delivery worker');
    await sql(this.em, `update "${tableOf(this.em, WebhookEndpoint)}" set "enabled" = false, "disabled_reason" = ? where "id" = ?`, [reason, id]);
  }

  /** The workspace of an environment, for the audit event of an endpoint the worker disabled. */
  async workspaceOf(environmentId: string): Promise<string | null> {
    requireSystem(this.em, 'the delivery worker');
    const [row] = await sql<{ workspace_id: string }>(this.em, `select "workspace_id" from "${tableOf(this.em, Environment)}" where "id" = ?`, [environmentId]);
    return row?.workspace_id ?? null;
  }
}

/** Webhook deliveries (the outbox the `audit_event_outbox` trigger fills) and their attempts. */
export class WebhookDeliveryRepository extends Repository<WebhookDelivery> {
  constructor(em: EntityManager) {
    super(em, WebhookDelivery, 'webhook_delivery');
  }

  /** A page of an endpoint's deliveries, newest first, optionally of one status. */
  list(query: { endpointId: string; status?: DeliveryStatus | null }, args: PageArgs, maxPageSize: number) {
    const where: FilterQuery<WebhookDelivery> = { endpointId: query.endpointId };
    if (query.status) where.status = query.status;
    return paginate(this.em, WebhookDelivery, where, { field: 'createdAt', direction: 'DESC' }, args, maxPageSize);
  }

  /** A new delivery, due now, persisted with the unit of work (a redelivery). */
  createDue(data: Pick<WebhookDelivery, 'id' | 'endpointId' | 'environmentId' | 'eventId' | 'eventType'>, now: Date): WebhookDelivery {
    const delivery = this.em.create(WebhookDelivery, {
      ...data,
      status: DeliveryStatus.PENDING,
      attempts: 0,
      nextAttemptAt: now,
      lockedUntil: null,
      lastAttemptAt: null,
      lastStatusCode: null,
      lastError: null,
      createdAt: now,
    });
    this.em.persist(delivery);
    return delivery;
  }

  /**
   * Claims up to `limit` due deliveries of every environment for `leaseSeconds` (FOR UPDATE
   * SKIP LOCKED: concurrent workers of any process claim disjoint rows), counting the attempt.
   */
  async claimDue(leaseSeconds: number, limit: number): Promise<WebhookDelivery[]> {
    requireSystem(this.em, 'claiming deliveries');
    const table = tableOf(this.em, WebhookDelivery);
    const rows = await sql(
      this.em,
      // Milliseconds only, so the value read back as a JavaScript Date still identifies the claim.
      `update "${table}" d set "locked_until" = date_trunc('milliseconds', now() + make_interval(secs => ?)), "attempts" = d."attempts" + 1
        where d."id" in (
          select "id" from "${table}"
           where "status" = 'PENDING' and "next_attempt_at" <= now() and ("locked_until" is null or "locked_until" < now())
           order by "next_attempt_at" limit ? for update skip locked)
        returning d.*`,
      [leaseSeconds, limit],
    );
    return rows.map(rowMapper(this.em, WebhookDelivery));
  }

  /** Hands a claimed delivery back untried (our failure, not the endpoint's): due again in a minute. */
  async release(delivery: Pick<WebhookDelivery, 'id' | 'lockedUntil'>): Promise<void> {
    requireSystem(this.em, 'the delivery worker');
    await sql(
      this.em,
      `update "${tableOf(this.em, WebhookDelivery)}" set "locked_until" = null, "attempts" = "attempts" - 1, "next_attempt_at" = now() + interval '1 minute'
          where "id" = ? and "locked_until" = ?`,
      [delivery.id, delivery.lockedUntil],
    );
  }

  /**
   * Records an attempt's outcome and the attempt itself, only while the claim is still ours (a
   * worker whose lease ran out must not overwrite a newer outcome). False when it was not.
   */
  async recordAttempt(
    delivery: Pick<WebhookDelivery, 'id' | 'lockedUntil'>,
    outcome: { status: DeliveryStatus; statusCode: number | null; error: string | null; durationMs: number; retryInSeconds: number },
  ): Promise<boolean> {
    requireSystem(this.em, 'the delivery worker');
    const [owned] = await sql(
      this.em,
      `update "${tableOf(this.em, WebhookDelivery)}" set "status" = ?, "locked_until" = null, "last_attempt_at" = now(), "last_status_code" = ?, "last_error" = ?,
           "next_attempt_at" = now() + make_interval(secs => ?)
         where "id" = ? and "status" = 'PENDING' and "locked_until" = ? returning "id"`,
      [outcome.status, outcome.statusCode, outcome.error, outcome.retryInSeconds, delivery.id, delivery.lockedUntil],
    );
    if (!owned) return false;
    await sql(
      this.em,
      `insert into "${tableOf(this.em, WebhookAttempt)}" ("delivery_id", "attempted_at", "duration_ms", "status_code", "error") values (?, now(), ?, ?, ?)`,
      [delivery.id, outcome.durationMs, outcome.statusCode, outcome.error],
    );
    return true;
  }
}

/**
 * The attempts of many deliveries in one statement, in order, as plain read-only rows (the
 * GraphQL loaders). Attempts have no tenant column: their deliveries' environments scope them.
 */
export async function attemptRowsOfDeliveries(em: EntityManager, deliveryIds: readonly string[]): Promise<WebhookAttempt[][]> {
  if (!deliveryIds.length) return [];
  const scope = entityCondition(em, WebhookDelivery, 'd');
  const rows = await sql(
    em,
    `select a.*, a."delivery_id" as "_parent" from "${tableOf(em, WebhookAttempt)}" a join "${tableOf(em, WebhookDelivery)}" d on d."id" = a."delivery_id"` +
      ` where a."delivery_id" = any(?::text[])${scope.sql} order by a."id"`,
    [[...deliveryIds], ...scope.params],
  );
  return groupByParent(deliveryIds, rows, rowMapper(em, WebhookAttempt));
}
