import type { EntityManager } from '@mikro-orm/core';
import { LockMode } from '@mikro-orm/core';
import { Repository } from '../../db/repository.js';
import { sql } from '../../db/sql.js';
import { SignInChallenge } from './challenge.entity.js';

export class SignInChallengeRepository extends Repository<SignInChallenge> {
  constructor(em: EntityManager) {
    super(em, SignInChallenge, 'sign_in_challenge');
  }

  /**
   * Serialises the issuing of challenges to one address, and from one client IP, in an
   * environment until the transaction ends, so that counting and inserting cannot interleave
   * (address first, then IP, always: no two issuers wait on each other in a cycle).
   */
  async lockIssuing(environmentId: string, email: string, ip: string): Promise<void> {
    if (!this.em.isInTransaction()) throw new Error('issuing a sign-in challenge must run in a transaction');
    await sql(this.em, 'select pg_advisory_xact_lock(hashtext(?))', [`sign_in_email:${environmentId}:${email}`]);
    await sql(this.em, 'select pg_advisory_xact_lock(hashtext(?))', [`sign_in_ip:${environmentId}:${ip}`]);
  }

  /** Challenges of an environment sent to `email` (all, and asked from `ip`), and asked from `ip`, since `since`. */
  async recent(environmentId: string, email: string, ip: string, since: Date): Promise<{ byEmail: number; byEmailFromIp: number; byIp: number }> {
    const byEmail = await this.em.count(SignInChallenge, { environmentId, email, createdAt: { $gte: since } });
    const byEmailFromIp = await this.em.count(SignInChallenge, { environmentId, email, requestIp: ip, createdAt: { $gte: since } });
    const byIp = await this.em.count(SignInChallenge, { environmentId, requestIp: ip, createdAt: { $gte: since } });
    return { byEmail, byEmailFromIp, byIp };
  }

  byLink(linkTokenHash: string): Promise<SignInChallenge | null> {
    return this.em.findOne(SignInChallenge, { linkTokenHash });
  }

  /** Wrong codes typed for an address of an environment, over all its challenges created since `since`, and over those asked from `ip`. */
  async wrongCodesSince(environmentId: string, email: string, ip: string, since: Date): Promise<{ total: number; fromIp: number }> {
    const rows = await this.em.find(SignInChallenge, { environmentId, email, createdAt: { $gte: since }, attempts: { $gt: 0 } }, { fields: ['attempts', 'requestIp'] });
    const sum = (list: typeof rows) => list.reduce((total, row) => total + row.attempts, 0);
    return { total: sum(rows), fromIp: sum(rows.filter((row) => row.requestIp === ip)) };
  }

  /** The challenge of a magic link, locked for its redemption. */
  byLinkForUpdate(linkTokenHash: string): Promise<SignInChallenge | null> {
    return this.em.findOne(SignInChallenge, { linkTokenHash }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  }

  /** The challenge, locked so that concurrent attempts are counted one after the other; null when not in scope. */
  findForUpdate(id: string): Promise<SignInChallenge | null> {
    return this.em.findOne(SignInChallenge, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  }

  /** Drops challenges that expired before `before`: they can only be refused. */
  async deleteExpired(before: Date): Promise<number> {
    return this.em.nativeDelete(SignInChallenge, { expiresAt: { $lt: before } });
  }
}
