import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { LockMode } from '@mikro-orm/core';
import { Repository } from '../../db/repository.js';
import { embeddedRow, entityCondition, rowMapper } from '../../db/rows.js';
import { preparedSql, tableOf } from '../../db/sql.js';
import { activeGrantsSql, isActiveMemberSql, type MembershipGrants } from '../membership/membership.repository.js';
import { User, UserStatus } from '../user/user.entity.js';
import { UserSession } from '../session/session.entity.js';
import { AuthorizationCode, RefreshToken } from './user-token.entity.js';

/** What `RefreshTokenRepository.rotateGrantable` must find true to rotate, besides the token being live. */
export interface GrantableRotation {
  tokenHash: string;
  clientId: string;
  /** Scopes the family must hold. */
  requiredScopes: readonly string[];
  /** Resources the client may still get tokens for; a family for another one is not rotated. */
  allowedResources: readonly string[];
  now: Date;
  successor: { id: string; tokenHash: string; idleExpiresAt: Date; accessTokenJti: string; accessTokenExpiresAt: Date };
}

/** The token rotated by `rotateGrantable`, its user, and what their membership grants (null without an organization). */
export interface RotatedFamily {
  previous: RefreshToken;
  user: User;
  grants: MembershipGrants | null;
}

export class AuthorizationCodeRepository extends Repository<AuthorizationCode> {
  constructor(em: EntityManager) {
    super(em, AuthorizationCode, 'authorization_code');
  }

  /** The code, locked so that two concurrent redemptions run one after the other. */
  lockByHash(codeHash: string): Promise<AuthorizationCode | null> {
    return this.em.findOne(AuthorizationCode, { codeHash }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  }

  /**
   * Redemption in one statement, when nothing stands in its way: the code is unused, unexpired,
   * of `clientId`, for `redirectUri` and the PKCE challenge `codeChallenge`; its session (if
   * any) is live, its user active and, for an organization's grant, still an active member; and
   * it needs no refresh token family (`offline_access`, when `refreshable`). Then it is marked
   * used with the access token about to be issued, atomically without a transaction; the code,
   * its user and their grants come back. Null otherwise, with nothing changed: the caller
   * redeems in a transaction (`lockByHash`), which finds out why and answers accordingly (and
   * uses the code up). Two concurrent redemptions: the second waits for the first's row lock,
   * finds the row changed and redeems nothing; its locked path then sees a replay.
   */
  async redeemGrantable(redemption: {
    codeHash: string;
    clientId: string;
    redirectUri: string;
    codeChallenge: string;
    refreshable: boolean;
    now: Date;
    accessToken: { jti: string; expiresAt: Date };
  }): Promise<{ code: AuthorizationCode; user: User; grants: MembershipGrants | null } | null> {
    const table = tableOf(this.em, AuthorizationCode);
    const codeScope = entityCondition(this.em, AuthorizationCode, 'c');
    const sessionScope = entityCondition(this.em, UserSession, 's');
    const userScope = entityCondition(this.em, User, 'u');
    const member = isActiveMemberSql(this.em, { sql: 'c."user_id"', params: [] }, { sql: 'c."organization_id"', params: [] });
    const user = embeddedRow(this.em, User, 'p."user_id"');
    const grants = activeGrantsSql(this.em, { sql: 'p."user_id"', params: [] }, { sql: 'p."organization_id"', params: [] });
    const { now } = redemption;
    // Found by its hash alone and updated by the row version found (`ctid`), as `rotateGrantable`.
    const rows = await preparedSql(
      this.em,
      `with "presented" as materialized (select "ctid" from "${table}" where "code_hash" = ?),` +
        ` "redeemed" as (update "${table}" c set "used_at" = ?, "updated_at" = ?, "access_token_jti" = ?, "access_token_expires_at" = ?` +
        ` where c."ctid" = (select "ctid" from "presented") and c."client_id" = ? and c."used_at" is null and c."expires_at" > ?` +
        ` and c."redirect_uri" = ? and c."code_challenge" = ? and not (?::boolean and 'offline_access' = any(c."scopes"))${codeScope.sql}` +
        ` and (c."session_id" is null or exists (select 1 from "${tableOf(this.em, UserSession)}" s where s."id" = c."session_id" and s."ended_at" is null` +
        ` and s."expires_at" > ? and s."absolute_expires_at" > ?${sessionScope.sql}))` +
        ` and exists (select 1 from "${tableOf(this.em, User)}" u where u."id" = c."user_id" and u."status" = '${UserStatus.ACTIVE}'${userScope.sql})` +
        ` and (c."organization_id" is null or ${member.sql})` +
        ` returning c.*)` +
        ` select p.*, ${user.sql} as "_user", case when p."organization_id" is null then null else ${grants.sql} end as "_grants" from "redeemed" p`,
      [
        redemption.codeHash,
        now,
        now,
        redemption.accessToken.jti,
        redemption.accessToken.expiresAt,
        redemption.clientId,
        now,
        redemption.redirectUri,
        redemption.codeChallenge,
        redemption.refreshable,
        ...codeScope.params,
        now,
        now,
        ...sessionScope.params,
        ...userScope.params,
        ...member.params,
        ...user.params,
        ...grants.params,
      ],
    );
    const [row] = rows;
    if (!row) return null;
    return {
      code: rowMapper(this.em, AuthorizationCode)(row),
      user: rowMapper(this.em, User)(row._user as Record<string, unknown>),
      grants: (row._grants as MembershipGrants | null) ?? null,
    };
  }

  /** Codes whose access token may still be live, of a user (or of the user with one organization). */
  withLiveAccessTokens(where: { userId: string; organizationId?: string; sessionIds?: string[]; clientId?: string }, now: Date): Promise<AuthorizationCode[]> {
    const filter: FilterQuery<AuthorizationCode> = { userId: where.userId, accessTokenExpiresAt: { $gt: now } };
    if (where.clientId) filter.clientId = where.clientId;
    if (where.organizationId) filter.organizationId = where.organizationId;
    if (where.sessionIds) filter.sessionId = { $in: where.sessionIds };
    return this.em.find(AuthorizationCode, filter);
  }

  async deleteExpired(before: Date): Promise<number> {
    return this.em.nativeDelete(AuthorizationCode, { expiresAt: { $lt: before }, $or: [{ accessTokenExpiresAt: null }, { accessTokenExpiresAt: { $lt: before } }] });
  }
}

export class RefreshTokenRepository extends Repository<RefreshToken> {
  constructor(em: EntityManager) {
    super(em, RefreshToken, 'refresh_token');
  }

  lockByHash(tokenHash: string): Promise<RefreshToken | null> {
    return this.em.findOne(RefreshToken, { tokenHash }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  }

  /**
   * Rotation in one statement, when nothing stands in its way: the presented token is live, of
   * `clientId`, holds the required scopes and an allowed resource, its user is active and, for
   * an organization's grant, still an active member. Then it is marked used and its successor
   * (recording the access token about to be issued) is written, atomically without a
   * transaction; the token, the user and their grants come back. Null otherwise, with nothing
   * changed: the caller finds out why in a transaction (`lockByHash`) and answers accordingly.
   * Two concurrent rotations of one token: the second waits for the first's row lock, then
   * finds the row changed and rotates nothing; the locked path then sees a replay.
   */
  async rotateGrantable(rotation: GrantableRotation): Promise<RotatedFamily | null> {
    const table = tableOf(this.em, RefreshToken);
    const tokenScope = entityCondition(this.em, RefreshToken, 't');
    const userScope = entityCondition(this.em, User, 'u');
    const member = isActiveMemberSql(this.em, { sql: 't."user_id"', params: [] }, { sql: 't."organization_id"', params: [] });
    const user = embeddedRow(this.em, User, 'p."user_id"');
    const grants = activeGrantsSql(this.em, { sql: 'p."user_id"', params: [] }, { sql: 'p."organization_id"', params: [] });
    const { now, successor } = rotation;
    // The token is found by its hash alone, and updated by the row version found (`ctid`):
    // the plan is cached on each connection, and with the client, tenant or expiry conditions
    // as index conditions a plan made while the table was small could pick the client's index
    // and then read every token of the client. A concurrent change of the row (another
    // rotation, a revocation) makes the version stale: nothing is updated, and the caller's
    // locked path sees the change.
    const rows = await preparedSql(
      this.em,
      `with "presented" as materialized (select "ctid" from "${table}" where "token_hash" = ?),` +
        ` "previous" as (update "${table}" t set "used_at" = ?, "updated_at" = ?` +
        ` where t."ctid" = (select "ctid" from "presented") and t."client_id" = ? and t."used_at" is null and t."revoked_at" is null` +
        ` and t."expires_at" > ? and t."family_expires_at" > ? and t."scopes" @> ?::text[]` +
        ` and (t."resource" is null or t."resource" = any(?::text[]))${tokenScope.sql}` +
        ` and exists (select 1 from "${tableOf(this.em, User)}" u where u."id" = t."user_id" and u."status" = '${UserStatus.ACTIVE}'${userScope.sql})` +
        ` and (t."organization_id" is null or ${member.sql})` +
        ` returning t.*),` +
        ` "successor" as (insert into "${table}" ("id", "created_at", "updated_at", "environment_id", "client_id", "user_id", "session_id", "code_id",` +
        ` "family_id", "token_hash", "scopes", "resource", "organization_id", "auth_time", "amr", "expires_at", "family_expires_at",` +
        ` "access_token_jti", "access_token_expires_at")` +
        ` select ?, ?, ?, "environment_id", "client_id", "user_id", "session_id", "code_id", "family_id", ?, "scopes", "resource",` +
        ` "organization_id", "auth_time", "amr", least(?::timestamptz, "family_expires_at"), "family_expires_at", ?, ? from "previous")` +
        ` select p.*, ${user.sql} as "_user", case when p."organization_id" is null then null else ${grants.sql} end as "_grants" from "previous" p`,
      [
        rotation.tokenHash,
        now,
        now,
        rotation.clientId,
        now,
        now,
        [...rotation.requiredScopes],
        [...rotation.allowedResources],
        ...tokenScope.params,
        ...userScope.params,
        ...member.params,
        successor.id,
        now,
        now,
        successor.tokenHash,
        successor.idleExpiresAt,
        successor.accessTokenJti,
        successor.accessTokenExpiresAt,
        ...user.params,
        ...grants.params,
      ],
    );
    const [row] = rows;
    if (!row) return null;
    return {
      previous: rowMapper(this.em, RefreshToken)(row),
      user: rowMapper(this.em, User)(row._user as Record<string, unknown>),
      grants: (row._grants as MembershipGrants | null) ?? null,
    };
  }

  /** Unrevoked tokens matching `where`, locked to revoke them. */
  unrevoked(where: FilterQuery<RefreshToken>): Promise<RefreshToken[]> {
    return this.em.find(RefreshToken, { $and: [where, { revokedAt: null }] } as FilterQuery<RefreshToken>, {
      lockMode: LockMode.PESSIMISTIC_WRITE,
      refresh: true,
      orderBy: { id: 'asc' },
    });
  }

  /** Drops families past their absolute expiry: every token of them would be refused anyway. */
  async deleteExpired(before: Date): Promise<number> {
    return this.em.nativeDelete(RefreshToken, { familyExpiresAt: { $lt: before } });
  }
}
