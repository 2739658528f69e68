import type { EntityManager } from '@mikro-orm/core';
import { sql, tableOf } from '../../db/sql.js';
import { environmentsOf, scopeOf, TenantScopeViolation } from '../../db/tenant-scope.js';
import { RevokedToken, UsedAssertion } from './token-state.entity.js';

/** Expired rows deleted per statement, so no prune holds locks for long. */
const PRUNE_BATCH = 10_000;

/**
 * Revoked access token ids (RFC 7009) of the scope's environments. Tokens carry their
 * environment (the issuer they were verified against), so every read and write names it.
 */
export class RevokedTokenRepository {
  constructor(private readonly em: EntityManager) {
    scopeOf(em);
  }

  /** Whether any of the token ids has been revoked: one statement for a whole exchange chain. */
  async anyRevoked(jtis: readonly string[]): Promise<boolean> {
    if (!jtis.length) return false;
    const environments = environmentsOf(this.em);
    const rows = await sql(
      this.em,
      `select 1 from "${tableOf(this.em, RevokedToken)}" where "jti" = any(?::text[])${environments ? ` and "environment_id" = any(?::text[])` : ''} limit 1`,
      environments ? [[...jtis], [...environments]] : [[...jtis]],
    );
    return rows.length > 0;
  }

  /** Remembers a revoked token until it would have expired; revoking twice is a no-op. */
  async revoke(input: { jti: string; environmentId: string; expiresAt: Date }): Promise<void> {
    const environments = environmentsOf(this.em);
    if (environments && !environments.includes(input.environmentId)) {
      throw new TenantScopeViolation(`Refused to revoke a token of environment ${input.environmentId} outside the caller's tenant scope`);
    }
    await sql(this.em, `insert into "${tableOf(this.em, RevokedToken)}" ("jti", "environment_id", "expires_at") values (?, ?, ?) on conflict do nothing`, [
      input.jti,
      input.environmentId,
      input.expiresAt,
    ]);
  }
}

/**
 * Client assertion ids seen (RFC 7523 §3). The table is keyed by client id and has no
 * environment column: client ids are unique across tenants, and the replay guard batches
 * claims of every environment into one statement, so this repository is for system work only.
 */
export class UsedAssertionRepository {
  constructor(private readonly em: EntityManager) {
    if (scopeOf(em).kind !== 'system') throw new TenantScopeViolation('used assertion ids span tenants: use a systemFork');
  }

  /** Inserts the claims; returns those that were new (the primary key refuses a replay). */
  async claim(claims: readonly { clientId: string; jti: string; expiresAt: Date }[]): Promise<{ clientId: string; jti: string }[]> {
    if (!claims.length) return [];
    const rows = await sql<{ client_id: string; jti: string }>(
      this.em,
      `insert into "${tableOf(this.em, UsedAssertion)}" ("client_id", "jti", "expires_at")` +
        ` select * from unnest(?::text[], ?::text[], ?::timestamptz[]) on conflict do nothing returning "client_id", "jti"`,
      [claims.map((claim) => claim.clientId), claims.map((claim) => claim.jti), claims.map((claim) => claim.expiresAt.toISOString())],
    );
    return rows.map((row) => ({ clientId: row.client_id, jti: row.jti }));
  }
}

/**
 * Forgets revoked token ids and used assertion ids once what they guard has expired (the
 * token or assertion would be refused for its `exp` anyway), for every environment: a system
 * job. Deletes in batches so no statement holds locks for long. Returns how many rows went.
 */
export async function pruneExpiredTokenState(em: EntityManager, now = new Date()): Promise<number> {
  if (scopeOf(em).kind !== 'system') throw new TenantScopeViolation('token state pruning spans tenants: use a systemFork');
  let total = 0;
  for (const table of [tableOf(em, RevokedToken), tableOf(em, UsedAssertion)]) {
    for (;;) {
      const deleted = await sql(em, `delete from "${table}" where ctid in (select ctid from "${table}" where "expires_at" < ? limit ${PRUNE_BATCH}) returning 1`, [now]);
      total += deleted.length;
      if (deleted.length < PRUNE_BATCH) break;
    }
  }
  return total;
}
