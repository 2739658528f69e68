import type { EntityManager } from '@mikro-orm/core';
import { LockMode } from '@mikro-orm/core';
import { Repository } from '../../db/repository.js';
import { entityCondition, managedRow, rowMapper } from '../../db/rows.js';
import { preparedSql, tableOf } from '../../db/sql.js';
import { PushedAuthorizationRequest, SignInFlow } from './flow.entity.js';

export class SignInFlowRepository extends Repository<SignInFlow> {
  constructor(em: EntityManager) {
    super(em, SignInFlow, 'sign_in_flow');
  }

  /**
   * The flow: every page of a sign-in reads it. In a transaction, a managed entity (changes to
   * it are flushed); outside one, where a page only reads it to check it, a read-only copy by a
   * prepared statement, which no flush writes back.
   */
  async byId(id: string): Promise<SignInFlow | null> {
    const scope = entityCondition(this.em, SignInFlow, 'f');
    const [row] = await preparedSql<Record<string, unknown>>(this.em, `select f.* from "${tableOf(this.em, SignInFlow)}" f where f."id" = ?${scope.sql}`, [id, ...scope.params]);
    if (!row) return null;
    return this.em.getTransactionContext() ? managedRow(this.em, SignInFlow, row) : rowMapper(this.em, SignInFlow)(row);
  }

  /**
   * Sets the flow's organization to `organizationId` unless one was chosen already, by the
   * person or by the application's request (`organization_id`), in one statement. A flow this
   * EntityManager has loaded is changed on the entity instead, for its flush.
   */
  /**
   * A flow this request read before its transaction (`byId` outside one), managed by the
   * transaction's EntityManager without reading it again: what the transaction changes on it is
   * written by its flush, in one UPDATE.
   */
  adopt(flow: SignInFlow): SignInFlow {
    return this.em.merge(SignInFlow, { ...flow });
  }

  async assignOrganizationUnlessChosen(id: string, organizationId: string, now: Date): Promise<void> {
    const loaded = this.em.getUnitOfWork().getById<SignInFlow>(SignInFlow.name, id);
    if (loaded) {
      if (!loaded.organizationId && !(loaded.request as { organizationId?: string | null }).organizationId) loaded.organizationId = organizationId;
      return;
    }
    const scope = entityCondition(this.em, SignInFlow, 'f');
    await preparedSql(
      this.em,
      `update "${tableOf(this.em, SignInFlow)}" f set "organization_id" = ?, "updated_at" = ?` +
        ` where f."id" = ? and f."organization_id" is null and coalesce(f."request"->>'organizationId', '') = ''${scope.sql}`,
      [organizationId, now, id, ...scope.params],
    );
  }

  /** Drops flows that expired before `before`. */
  deleteExpired(before: Date): Promise<number> {
    return this.em.nativeDelete(SignInFlow, { expiresAt: { $lt: before } });
  }
}

export class PushedRequestRepository extends Repository<PushedAuthorizationRequest> {
  constructor(em: EntityManager) {
    super(em, PushedAuthorizationRequest, 'pushed_authorization_request');
  }

  /** The request of a `request_uri`, locked for its single redemption. */
  lockByHandle(handleHash: string): Promise<PushedAuthorizationRequest | null> {
    return this.em.findOne(PushedAuthorizationRequest, { handleHash }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  }

  deleteExpired(before: Date): Promise<number> {
    return this.em.nativeDelete(PushedAuthorizationRequest, { expiresAt: { $lt: before } });
  }
}
