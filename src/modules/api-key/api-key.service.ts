import type { EntityManager } from '@mikro-orm/core';
import { recordAudit, type RequestMeta } from '../../audit/audit-recorder.js';
import { requireScope, type Principal } from '../../auth/principal.js';
import { ALL_SCOPES, isKnownScope, scopesCovered } from '../../auth/scopes.js';
import { hashSecret, randomToken } from '../../crypto/secrets.js';
import { newId } from '../../db/id.js';
import { notifyOnCommit } from '../../db/notify.js';
import type { PageArgs } from '../../db/pagination.js';
import { AppError, forbidden, invalid, unauthenticated } from '../../errors/app-error.js';
import { addressKey, type FailedAuthLimiter } from '../../auth/failed-auth-limiter.js';
import { EnvironmentKind } from '../environment/environment.entity.js';
import { EnvironmentRepository } from '../environment/environment.repository.js';
import { audit, environmentFor, inTransaction, type ServiceContext } from '../service-context.js';
import { checkName } from '../validation.js';
import type { ApiKey } from './api-key.entity.js';
import { ApiKeyRepository, type KeyVisibility } from './api-key.repository.js';

/** Hears the id of every revoked key, in every process: open WebSockets of the key close at once. */
export const API_KEY_REVOKED_CHANNEL = 'gatehouse_api_key_revoked';

/** Characters of a key kept in clear so people can tell keys apart (`gh_live_AbCd1234`). */
const VISIBLE_PREFIX_LENGTH = 16;
/** How stale `lastUsedAt` may get before a request refreshes it; saves a write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

export const snapshotApiKey = (key: ApiKey) => ({
  id: key.id,
  name: key.name,
  prefix: key.prefix,
  environmentId: key.environmentId,
  scopes: key.scopes,
  expiresAt: key.expiresAt,
  revokedAt: key.revokedAt,
});

export interface IssuedApiKey {
  apiKey: ApiKey;
  /** The full key: returned once, never stored. */
  secret: string;
}

/** Creates a key inside the caller's transaction. `gh_test_` marks keys pinned to a development environment. */
export function issueApiKey(
  em: EntityManager,
  values: {
    workspaceId: string;
    environmentId: string | null;
    environmentKind: EnvironmentKind | null;
    name: string;
    scopes: string[];
    expiresAt?: Date | null;
    createdBy?: string | null;
  },
): IssuedApiKey {
  const mode = values.environmentKind === EnvironmentKind.DEVELOPMENT ? 'test' : 'live';
  const secret = `gh_${mode}_${randomToken(32)}`;
  const apiKey = new ApiKeyRepository(em).create({
    id: newId('apiKey'),
    workspaceId: values.workspaceId,
    environmentId: values.environmentId,
    name: values.name,
    prefix: secret.slice(0, VISIBLE_PREFIX_LENGTH),
    secretHash: hashSecret(secret),
    scopes: values.scopes,
    expiresAt: values.expiresAt ?? null,
    createdBy: values.createdBy ?? null,
  });
  return { apiKey, secret };
}

function checkScopes(ctx: ServiceContext, scopes: string[]): string[] {
  const unique = [...new Set(scopes)];
  if (unique.length === 0) throw invalid('api_key.scopes_required', 'Give the key at least one scope', ['input', 'scopes']);
  const unknown = unique.filter((scope) => !isKnownScope(scope));
  if (unknown.length) {
    throw invalid('api_key.unknown_scope', `Unknown scopes: ${unknown.join(', ')}`, ['input', 'scopes']);
  }
  if (!scopesCovered(ctx.principal.scopes, unique)) {
    throw forbidden('api_key.scope_escalation', 'A key can only grant scopes its creator holds');
  }
  return unique.includes(ALL_SCOPES) ? [ALL_SCOPES] : unique.sort();
}

export async function createApiKey(
  ctx: ServiceContext,
  input: { name: string; environmentId?: string | null; scopes: string[]; expiresAt?: Date | null },
): Promise<IssuedApiKey> {
  requireScope(ctx.principal, 'api_keys:write');
  const name = checkName(input.name, ['input', 'name']);
  // A pinned key can only mint keys pinned to its own environment.
  const environmentId = input.environmentId || ctx.principal.environmentId ? environmentFor(ctx, input.environmentId) : null;
  const scopes = checkScopes(ctx, input.scopes);
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
    throw invalid('api_key.expiry_in_past', 'expiresAt must be in the future', ['input', 'expiresAt']);
  }
  // A key cannot outlive the key that made it: an expiring key's keys expire with it at the latest.
  const creatorExpiry = ctx.principal.expiresAt;
  if (creatorExpiry && input.expiresAt && input.expiresAt > creatorExpiry) {
    throw invalid('api_key.outlives_creator', `expiresAt must not be after this key's own expiry (${creatorExpiry.toISOString()})`, [
      'input',
      'expiresAt',
    ]);
  }
  const expiresAt = input.expiresAt ?? creatorExpiry;
  const environment = environmentId ? await new EnvironmentRepository(ctx.em).find(environmentId) : null;
  return inTransaction(ctx, async (em) => {
    const issued = issueApiKey(em, {
      workspaceId: ctx.principal.workspaceId,
      environmentId,
      environmentKind: environment?.kind ?? null,
      name,
      scopes,
      expiresAt,
      createdBy: ctx.principal.apiKeyId,
    });
    audit(ctx, em, {
      action: 'api_key.created',
      environmentId,
      targets: [{ type: 'api_key', id: issued.apiKey.id, name }],
      after: snapshotApiKey(issued.apiKey),
    });
    return issued;
  });
}

/** Keys the caller may see: all of the workspace, or only those pinned to the caller's environment. */
function visibleKeys(ctx: ServiceContext): KeyVisibility {
  return ctx.principal.environmentId
    ? { workspaceId: ctx.principal.workspaceId, environmentId: ctx.principal.environmentId }
    : { workspaceId: ctx.principal.workspaceId };
}

export async function getApiKey(ctx: ServiceContext, id: string): Promise<ApiKey> {
  requireScope(ctx.principal, 'api_keys:read');
  return new ApiKeyRepository(ctx.em).getVisible(id, visibleKeys(ctx));
}

/** The calling key itself (`viewer`): needs no scope. */
export async function getCallingApiKey(ctx: ServiceContext): Promise<ApiKey> {
  return new ApiKeyRepository(ctx.em).get(ctx.principal.apiKeyId);
}

export interface ApiKeyFilter {
  /** Keys pinned to this environment. */
  environmentId?: string | null;
  /** Only revoked (true) or only unrevoked (false) keys. */
  revoked?: boolean | null;
}

export async function listApiKeys(ctx: ServiceContext, filter: ApiKeyFilter | null | undefined, args: PageArgs, maxPageSize: number) {
  requireScope(ctx.principal, 'api_keys:read');
  return new ApiKeyRepository(ctx.em).list(visibleKeys(ctx), filter ?? {}, args, maxPageSize);
}

export async function revokeApiKey(ctx: ServiceContext, input: { id: string }): Promise<ApiKey> {
  requireScope(ctx.principal, 'api_keys:write');
  return inTransaction(ctx, async (em) => {
    const key = await new ApiKeyRepository(em).lockVisible(input.id, visibleKeys(ctx));
    // Revoking is as strong as minting: a narrow key must not lock out a broader one (e.g. the owner's).
    if (!scopesCovered(ctx.principal.scopes, key.scopes)) {
      throw forbidden('api_key.scope_escalation', 'A key can only revoke keys whose scopes it holds');
    }
    if (key.revokedAt) return key;
    const before = snapshotApiKey(key);
    key.revokedAt = new Date();
    audit(ctx, em, {
      action: 'api_key.revoked',
      environmentId: key.environmentId,
      targets: [{ type: 'api_key', id: key.id, name: key.name }],
      before,
      after: snapshotApiKey(key),
    });
    await notifyOnCommit(em, API_KEY_REVOKED_CHANNEL, key.id);
    return key;
  });
}

/** RFC 6750 §2.1 credentials; the scheme name is case-insensitive (RFC 7235 §2.1). */
const BEARER = /^Bearer ([A-Za-z0-9_\-.~+/]+=*)$/i;

/**
 * Resolves the `Authorization` header to a principal. The lookup is by SHA-256 of the key
 * (an indexed equality, so no timing signal about partial matches). Every rejection is audited
 * with its precise reason: in the key's workspace when the key is known (revoked, expired),
 * unattributed otherwise. The caller only learns `auth.invalid_key`, whatever the reason, so
 * a leaked old key does not reveal that it once existed. Past the per-IP failure budget the
 * caller gets RATE_LIMITED and nothing is written; valid keys are never throttled here.
 */
export async function authenticate(
  /** A systemFork: the key is found before its tenant is known. */
  em: EntityManager,
  header: string | undefined,
  meta: RequestMeta,
  limiter: FailedAuthLimiter,
): Promise<Principal> {
  if (!header) {
    throw unauthenticated('auth.missing_credentials', 'Send an API key as "Authorization: Bearer <key>"');
  }
  const token = BEARER.exec(header.trim())?.[1];
  const keys = new ApiKeyRepository(em);
  const key = token ? await keys.findWithReach(hashSecret(token)) : null;
  const now = new Date();
  const reason = !token
    ? 'malformed'
    : !key
      ? 'unknown_key'
      : key.revokedAt
        ? 'revoked'
        : key.expiresAt && key.expiresAt <= now
          ? 'expired'
          : null;
  if (reason || !key) {
    const retryAfter = await limiter.recordFailure(addressKey(meta.ip));
    if (retryAfter > 0) {
      throw new AppError('RATE_LIMITED', 'auth.too_many_failures', 'Too many failed authentications; try again later', {
        detail: { retryAfter },
      });
    }
    await em.fork().transactional(async (tx) => {
      recordAudit(tx, { principal: null, meta, anonymous: true }, {
        action: 'api_key.authentication_failed',
        workspaceId: key?.workspaceId ?? null,
        environmentId: key?.environmentId ?? null,
        targets: key ? [{ type: 'api_key', id: key.id, name: key.name }] : [],
        // Never the header itself: only the part of a key that is shown anyway.
        after: { reason, prefix: token ? token.slice(0, VISIBLE_PREFIX_LENGTH) : null },
      });
    });
    if (!token) throw unauthenticated('auth.malformed_credentials', 'Send an API key as "Authorization: Bearer <key>"');
    throw unauthenticated('auth.invalid_key', 'The API key is not valid');
  }
  if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await keys.touch(key.id, now);
  }
  return {
    type: 'API_KEY',
    apiKeyId: key.id,
    name: key.name,
    workspaceId: key.workspaceId,
    environmentId: key.environmentId,
    scopes: key.scopes,
    expiresAt: key.expiresAt,
    environmentIds: key.environmentIds,
  };
}
