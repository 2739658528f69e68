import type { EntityManager } from '@mikro-orm/core';
import { newInternalId } from '../../db/id.js';
import { Repository } from '../../db/repository.js';
import { rowMapper } from '../../db/rows.js';
import { sql, tableOf } from '../../db/sql.js';
import { scopeOf, TenantScopeViolation } from '../../db/tenant-scope.js';
import { OAuthClient } from '../oauth-client/oauth-client.entity.js';
import { LogoutNotice } from './logout-notice.entity.js';
import type { UserSession } from './session.entity.js';

/** A claim of the logout workers: the notice as it was claimed (its `lockedUntil` names the claim). */
export type ClaimedNotice = Pick<LogoutNotice, 'id' | 'environmentId' | 'clientId' | 'sessionId' | 'subject' | 'attempts' | 'lockedUntil'>;

function requireSystem(em: EntityManager): void {
  if (scopeOf(em).kind !== 'system') throw new TenantScopeViolation('the logout workers span tenants: use a systemFork');
}

/** The back-channel logout outbox. */
export class LogoutNoticeRepository extends Repository<LogoutNotice> {
  constructor(em: EntityManager) {
    super(em, LogoutNotice, 'logout_notice');
  }

  /**
   * A notice for each application of each session that registered a back-channel logout URI
   * and is enabled, persisted with the unit of work (the transaction ending the sessions).
   */
  async enqueueFor(sessions: readonly Pick<UserSession, 'id' | 'userId' | 'environmentId' | 'clientIds'>[], now = new Date()): Promise<number> {
    const clientIds = [...new Set(sessions.flatMap((session) => session.clientIds))];
    if (!clientIds.length) return 0;
    const listening = await this.em.find(OAuthClient, { id: { $in: clientIds }, backchannelLogoutUri: { $ne: null }, enabled: true }, { fields: ['id', 'environmentId'] });
    let count = 0;
    for (const session of sessions) {
      for (const client of listening) {
        if (!session.clientIds.includes(client.id) || client.environmentId !== session.environmentId) continue;
        this.create({ id: newInternalId('logoutNotice'), environmentId: session.environmentId, clientId: client.id, sessionId: session.id, subject: session.userId, nextAttemptAt: now });
        count += 1;
      }
    }
    return count;
  }

  /** Claims up to `limit` due notices for `leaseSeconds`, skipping those other workers hold. */
  async claimDue(leaseSeconds: number, limit: number): Promise<ClaimedNotice[]> {
    requireSystem(this.em);
    const table = tableOf(this.em, LogoutNotice);
    const rows = await sql(
      this.em,
      // Milliseconds only, so the value read back as a JavaScript Date still identifies the claim.
      `update "${table}" n set "locked_until" = date_trunc('milliseconds', now() + make_interval(secs => ?)), "attempts" = n."attempts" + 1
        where n."id" in (
          select "id" from "${table}" where "next_attempt_at" <= now() and ("locked_until" is null or "locked_until" < now())
           order by "next_attempt_at" limit ? for update skip locked)
        returning n.*`,
      [leaseSeconds, limit],
    );
    return rows.map(rowMapper(this.em, LogoutNotice));
  }

  /** Due again in `delaySeconds`, while the claim is still ours. */
  async retryLater(notice: ClaimedNotice, outcome: string, delaySeconds: number): Promise<void> {
    requireSystem(this.em);
    await sql(
      this.em,
      `update "${tableOf(this.em, LogoutNotice)}" set "locked_until" = null, "last_outcome" = ?, "next_attempt_at" = now() + make_interval(secs => ?), "updated_at" = now()
        where "id" = ? and "locked_until" = ?`,
      [outcome, delaySeconds, notice.id, notice.lockedUntil],
    );
  }

  /** Forgets a notice that is settled (delivered, refused, given up), while the claim is ours; false when it was not. */
  async settle(notice: ClaimedNotice): Promise<boolean> {
    requireSystem(this.em);
    const rows = await sql(this.em, `delete from "${tableOf(this.em, LogoutNotice)}" where "id" = ? and "locked_until" = ? returning 1`, [notice.id, notice.lockedUntil]);
    return rows.length > 0;
  }
}
