import type { EntityManager } from '@mikro-orm/core';
import { ApiKey } from '../api-key/api-key.entity.js';
import { WorkspaceRepository } from '../workspace/workspace.repository.js';
import { requireScope } from '../../auth/principal.js';
import type { SecretBox } from '../../crypto/at-rest.js';
import { hashSecret, randomToken } from '../../crypto/secrets.js';
import { newId } from '../../db/id.js';
import type { PageArgs } from '../../db/pagination.js';
import { forbidden, invalid, notFound } from '../../errors/app-error.js';
import { seedBuiltInRoles } from '../role/builtin-roles.js';
import { createFirstSigningKey } from '../signing-key/signing-key.service.js';
import { checkScopeList } from '../oauth-client/oauth-client.validation.js';
import { audit, environmentFor, inTransaction, type ServiceContext } from '../service-context.js';
import { checkName, checkSlug } from '../validation.js';
import { ClientRegistrationPolicy, SESSION_LIFETIMES, type Environment, type EnvironmentKind, type SignUpPolicy } from './environment.entity.js';
import { EnvironmentRepository } from './environment.repository.js';

export const snapshotEnvironment = (env: Environment) => ({
  id: env.id,
  name: env.name,
  slug: env.slug,
  kind: env.kind,
  auditRetentionDays: env.auditRetentionDays,
  signUpPolicy: env.signUpPolicy,
  logoUrl: env.logoUrl,
  sessionIdleTtl: env.sessionIdleTtl,
  sessionAbsoluteTtl: env.sessionAbsoluteTtl,
});

const MAX_RETENTION_DAYS = 3650;

/**
 * Creates an environment with its built-in roles and, given the master key's box, its first
 * signing key, inside the caller's transaction: the token path then only reads keys. Without a
 * box (a caller that does not hold the master key) the environment starts without a key, and
 * `ensureSigningKeys` at startup or the issuer's first use gives it one.
 */
export async function createEnvironmentRecord(
  em: EntityManager,
  values: { workspaceId: string; name: string; slug: string; kind: EnvironmentKind },
  box: SecretBox | null,
): Promise<Environment> {
  const environment = new EnvironmentRepository(em).create({ id: newId('environment'), ...values });
  seedBuiltInRoles(em, environment.id);
  if (box) await createFirstSigningKey(em, box, environment.id);
  return environment;
}

function requireWorkspaceKey(ctx: ServiceContext): void {
  if (ctx.principal.environmentId) {
    throw forbidden('environment.workspace_key_required', 'Only a workspace-wide API key can manage environments');
  }
}

export async function getEnvironment(ctx: ServiceContext, id: string): Promise<Environment> {
  requireScope(ctx.principal, 'environments:read');
  if (!ctx.principal.environmentIds.includes(id)) throw notFound('environment', id);
  return new EnvironmentRepository(ctx.em).getInWorkspace(ctx.principal.workspaceId, id);
}

export async function listEnvironments(
  ctx: ServiceContext,
  filter: { kind?: EnvironmentKind | null } | null | undefined,
  args: PageArgs,
  maxPageSize: number,
) {
  requireScope(ctx.principal, 'environments:read');
  return new EnvironmentRepository(ctx.em).page(
    {
      workspaceId: ctx.principal.workspaceId,
      id: { $in: [...ctx.principal.environmentIds] },
      ...(filter?.kind ? { kind: filter.kind } : {}),
    },
    args,
    maxPageSize,
  );
}

export async function createEnvironment(
  ctx: ServiceContext,
  box: SecretBox,
  input: { name: string; slug: string; kind: EnvironmentKind },
): Promise<Environment> {
  requireScope(ctx.principal, 'environments:write');
  requireWorkspaceKey(ctx);
  const name = checkName(input.name, ['input', 'name']);
  const slug = checkSlug(input.slug, ['input', 'slug']);
  return inTransaction(ctx, async (em) => {
    const environment = await createEnvironmentRecord(em, { workspaceId: ctx.principal.workspaceId, name, slug, kind: input.kind }, box);
    audit(ctx, em, {
      action: 'environment.created',
      environmentId: environment.id,
      targets: [{ type: 'environment', id: environment.id, name }],
      after: snapshotEnvironment(environment),
    });
    return environment;
  });
}

export async function updateEnvironment(
  ctx: ServiceContext,
  input: {
    id: string;
    name?: string | null;
    auditRetentionDays?: number | null;
    signUpPolicy?: SignUpPolicy | null;
    logoUrl?: string | null;
    sessionIdleTtl?: number | null;
    sessionAbsoluteTtl?: number | null;
  },
): Promise<Environment> {
  requireScope(ctx.principal, 'environments:write');
  requireWorkspaceKey(ctx);
  const name = input.name != null ? checkName(input.name, ['input', 'name']) : undefined;
  const idle = input.sessionIdleTtl != null ? checkSessionLifetime(input.sessionIdleTtl, SESSION_LIFETIMES.idle, 'sessionIdleTtl') : undefined;
  const absolute = input.sessionAbsoluteTtl != null ? checkSessionLifetime(input.sessionAbsoluteTtl, SESSION_LIFETIMES.absolute, 'sessionAbsoluteTtl') : undefined;
  const logoUrl = input.logoUrl != null ? checkLogoUrl(input.logoUrl) : undefined;
  const retention = input.auditRetentionDays;
  if (retention != null && (!Number.isInteger(retention) || retention < 1 || retention > MAX_RETENTION_DAYS)) {
    throw invalid('environment.invalid_retention', `auditRetentionDays must be 1–${MAX_RETENTION_DAYS}, or null to keep events forever`, [
      'input',
      'auditRetentionDays',
    ]);
  }
  return inTransaction(ctx, async (em) => {
    const environment = await lockEnvironment(em, ctx, input.id);
    if (retention !== undefined && shortensRetention(environment.auditRetentionDays, retention)) requireScope(ctx.principal, 'audit:write');
    const before = snapshotEnvironment(environment);
    if (name !== undefined) environment.name = name;
    if (retention !== undefined) environment.auditRetentionDays = retention;
    if (input.signUpPolicy != null) environment.signUpPolicy = input.signUpPolicy;
    if (logoUrl !== undefined) environment.logoUrl = logoUrl;
    if (idle !== undefined) environment.sessionIdleTtl = idle;
    if (absolute !== undefined) environment.sessionAbsoluteTtl = absolute;
    if (environment.sessionAbsoluteTtl < environment.sessionIdleTtl) {
      throw invalid('environment.invalid_session_lifetime', 'The absolute session lifetime must be at least the idle one', [
        'input',
        absolute !== undefined ? 'sessionAbsoluteTtl' : 'sessionIdleTtl',
      ]);
    }
    audit(ctx, em, {
      action: 'environment.updated',
      environmentId: environment.id,
      targets: [{ type: 'environment', id: environment.id, name: environment.name }],
      before,
      after: snapshotEnvironment(environment),
    });
    return environment;
  });
}

/** An https URL without credentials or fragment (the browser loads it; the hosted pages' CSP admits its origin), or null for ''. */
function checkLogoUrl(value: string): string | null {
  if (value === '') return null;
  const fail = () => invalid('environment.invalid_logo_url', 'logoUrl must be an https URL of at most 2048 characters, without credentials', ['input', 'logoUrl']);
  if (value.length > 2048 || !value.startsWith('https://')) throw fail();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw fail();
  }
  if (url.username || url.password || url.hash || /[\s"'<>]/.test(value)) throw fail();
  return url.toString();
}

function checkSessionLifetime(value: number, bounds: { min: number; max: number }, name: string): number {
  if (!Number.isInteger(value) || value < bounds.min || value > bounds.max) {
    throw invalid('environment.invalid_session_lifetime', `${name} must be a whole number of seconds from ${bounds.min} to ${bounds.max}`, ['input', name]);
  }
  return value;
}

/**
 * Whether a retention change lets events be pruned sooner (null keeps them forever). Pruning
 * destroys evidence, so it needs `audit:write` on top of `environments:write`: a key that may
 * rename environments must not be able to erase yesterday's trail with a 1-day retention.
 */
function shortensRetention(current: number | null, next: number | null): boolean {
  if (next === null) return false;
  return current === null || next < current;
}

async function lockEnvironment(em: EntityManager, ctx: ServiceContext, id: string): Promise<Environment> {
  if (!ctx.principal.environmentIds.includes(id)) throw notFound('environment', id);
  return new EnvironmentRepository(em).lockInWorkspace(ctx.principal.workspaceId, id);
}

/**
 * Deletes an environment and, by cascade, all of its tenant data. The audit trail stays, and
 * the API keys pinned to it are revoked by the deletion, so each gets its own event.
 */
export async function deleteEnvironment(ctx: ServiceContext, input: { id: string }): Promise<string> {
  requireScope(ctx.principal, 'environments:write');
  requireWorkspaceKey(ctx);
  return inTransaction(ctx, async (em) => {
    // Locking the workspace row serialises environment deletions, so "at least one" holds.
    await new WorkspaceRepository(em).lock(ctx.principal.workspaceId);
    const environments = new EnvironmentRepository(em);
    const environment = await lockEnvironment(em, ctx, input.id);
    if ((await environments.countInWorkspace(ctx.principal.workspaceId)) <= 1) {
      throw invalid('environment.last', 'A workspace keeps at least one environment', ['input', 'id']);
    }
    const pinnedKeys = await em.find(ApiKey, { environmentId: environment.id });
    await environments.delete(environment.id);
    for (const key of pinnedKeys) {
      audit(ctx, em, {
        action: 'api_key.deleted',
        environmentId: environment.id,
        targets: [{ type: 'api_key', id: key.id, name: key.name }],
        before: { id: key.id, name: key.name, prefix: key.prefix, scopes: key.scopes, reason: 'environment_deleted' },
      });
    }
    audit(ctx, em, {
      action: 'environment.deleted',
      environmentId: environment.id,
      targets: [{ type: 'environment', id: environment.id, name: environment.name }],
      before: snapshotEnvironment(environment),
    });
    return environment.id;
  });
}

/** What an audit event shows of registration settings: whether a token exists, never the token or its hash. */
const snapshotRegistration = (env: Environment, issued = false) => ({
  policy: env.clientRegistrationPolicy,
  registrationScopes: env.registrationScopes,
  initialAccess: issued ? 'issued' : env.initialAccessTokenHash ? 'set' : 'none',
});

export const INITIAL_ACCESS_TOKEN_PREFIX = 'ghiat_';

/**
 * Sets who may register OAuth clients dynamically (RFC 7591) and which scopes they may ask
 * for. An initial access token, issued on request, replaces the previous one and is returned
 * once; only its SHA-256 is kept. It exists only under INITIAL_ACCESS_TOKEN: leaving that
 * policy discards it, and entering it requires one.
 */
export async function updateClientRegistrationPolicy(
  ctx: ServiceContext,
  input: {
    environmentId?: string | null;
    policy?: ClientRegistrationPolicy | null;
    registrationScopes?: string[] | null;
    issueInitialAccessToken?: boolean | null;
  },
): Promise<{ environment: Environment; initialAccessToken?: string }> {
  requireScope(ctx.principal, 'oauth:write');
  const environmentId = environmentFor(ctx, input.environmentId);
  const scopes = input.registrationScopes != null ? checkScopeList(input.registrationScopes, ['input', 'registrationScopes']) : undefined;
  const token = input.issueInitialAccessToken ? `${INITIAL_ACCESS_TOKEN_PREFIX}${randomToken()}` : undefined;
  return inTransaction(ctx, async (em) => {
    const environment = await lockEnvironment(em, ctx, environmentId);
    const before = snapshotRegistration(environment);
    const policy = input.policy ?? environment.clientRegistrationPolicy;
    if (policy === ClientRegistrationPolicy.INITIAL_ACCESS_TOKEN) {
      if (!token && !environment.initialAccessTokenHash) {
        throw invalid('client_registration.token_required', 'Registration by initial access token needs one: pass issueInitialAccessToken: true', [
          'input',
          'issueInitialAccessToken',
        ]);
      }
    } else if (token) {
      throw invalid('client_registration.token_unused', 'An initial access token is only used under the INITIAL_ACCESS_TOKEN policy', [
        'input',
        'issueInitialAccessToken',
      ]);
    }
    environment.clientRegistrationPolicy = policy;
    if (scopes !== undefined) environment.registrationScopes = scopes;
    if (token) environment.initialAccessTokenHash = hashSecret(token);
    if (policy !== ClientRegistrationPolicy.INITIAL_ACCESS_TOKEN) environment.initialAccessTokenHash = null;
    audit(ctx, em, {
      action: 'environment.client_registration_updated',
      environmentId: environment.id,
      targets: [{ type: 'environment', id: environment.id, name: environment.name }],
      before,
      after: snapshotRegistration(environment, token !== undefined),
    });
    return token ? { environment, initialAccessToken: token } : { environment };
  });
}
