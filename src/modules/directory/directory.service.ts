import type { EntityManager } from '@mikro-orm/core';
import { requireScope } from '../../auth/principal.js';
import { newId } from '../../db/id.js';
import type { PageArgs } from '../../db/pagination.js';
import { hashSecret, randomToken } from '../../crypto/secrets.js';
import { invalid } from '../../errors/app-error.js';
import { SsoConnectionRepository } from '../connection/connection.repository.js';
import { checkGroupRoleRows } from '../connection/connection.validation.js';
import { OrganizationRepository } from '../organization/organization.repository.js';
import { resolveRoleIds } from '../role/role.service.js';
import { applyGroupRoles } from './directory-roles.js';
import { audit, environmentFor, inTransaction, type ServiceContext } from '../service-context.js';
import { checkName } from '../validation.js';
import { Directory, DirectoryStatus, type DirectoryProvider } from './directory.entity.js';
import { DirectoryRepository } from './directory.repository.js';

const RESOURCE = 'directory';
/** Directories of one organization, at most (one per IdP it provisions from, and a spare for a migration). */
export const MAX_DIRECTORIES_PER_ORGANIZATION = 5;
/** How long a replaced token keeps working after a rotation, by default and at most. */
export const DEFAULT_TOKEN_OVERLAP_SECONDS = 3600;
export const MAX_TOKEN_OVERLAP_SECONDS = 7 * 24 * 3600;
/** What a directory's bearer tokens begin with: recognisable in a secret scanner and in a log that should not hold it. */
export const DIRECTORY_TOKEN_PREFIX = 'gh_scim_';

const target = (directory: Directory) => ({ type: 'directory', id: directory.id, name: directory.name });

/** What audit events say of a directory: never a token or its hash. */
const snapshot = (directory: Directory) => ({
  id: directory.id,
  organizationId: directory.organizationId,
  name: directory.name,
  provider: directory.provider,
  status: directory.status,
  tokenPrefix: directory.tokenPrefix,
  groupRoleMappings: directory.groupRoleMappings,
  connectionId: directory.connectionId,
});

/** A new bearer token: the token (shown once) and what is kept of it. */
function newToken(): { token: string; hash: string; prefix: string } {
  const token = `${DIRECTORY_TOKEN_PREFIX}${randomToken()}`;
  return { token, hash: hashSecret(token), prefix: token.slice(0, DIRECTORY_TOKEN_PREFIX.length + 6) };
}

export interface DirectoryInput {
  name?: string | null;
  status?: DirectoryStatus | null;
  groupRoleMappings?: { group: string; roleKeys: string[] }[] | null;
  /** The organization's SSO connection (`con_…`) whose people it provisions; `null` unlinks. */
  connectionId?: string | null;
}

async function apply(em: EntityManager, directory: Directory, input: DirectoryInput): Promise<void> {
  if (input.name != null) directory.name = checkName(input.name, ['input', 'name'], 100);
  if (input.status != null) directory.status = input.status;
  if (input.groupRoleMappings !== undefined) {
    const field = ['input', 'groupRoleMappings'];
    const rows = checkGroupRoleRows(input.groupRoleMappings ?? [], field, RESOURCE);
    for (const [index, row] of rows.entries()) await resolveRoleIds(em, directory.environmentId, row.roleKeys, [...field, String(index), 'roleKeys']);
    directory.groupRoleMappings = rows;
  }
  if (input.connectionId !== undefined) {
    if (input.connectionId === null) {
      directory.connectionId = null;
    } else {
      const connection = await new SsoConnectionRepository(em).find(input.connectionId);
      if (!connection || connection.organizationId !== directory.organizationId) {
        throw invalid(`${RESOURCE}.connection_not_found`, 'No SSO connection of the directory\'s organization has this id', ['input', 'connectionId']);
      }
      directory.connectionId = connection.id;
    }
  }
}

export async function getDirectory(ctx: ServiceContext, id: string): Promise<Directory> {
  requireScope(ctx.principal, 'organizations:read');
  return new DirectoryRepository(ctx.em).get(id);
}

export async function listDirectories(ctx: ServiceContext, query: { environmentId?: string | null; organizationId?: string | null }, args: PageArgs, maxPageSize: number) {
  requireScope(ctx.principal, 'organizations:read');
  if (query.organizationId) {
    const organization = await new OrganizationRepository(ctx.em).get(query.organizationId);
    return new DirectoryRepository(ctx.em).page({ environmentId: organization.environmentId, organizationId: organization.id }, args, maxPageSize);
  }
  return new DirectoryRepository(ctx.em).page({ environmentId: environmentFor(ctx, query.environmentId) }, args, maxPageSize);
}

/** A new directory of an organization, with its bearer token (returned once, kept hashed). */
export async function createDirectory(
  ctx: ServiceContext,
  input: DirectoryInput & { organizationId: string; provider: DirectoryProvider; name: string },
): Promise<{ directory: Directory; token: string }> {
  requireScope(ctx.principal, 'organizations:write');
  return inTransaction(ctx, async (em) => {
    const organization = await new OrganizationRepository(em).get(input.organizationId);
    const directories = new DirectoryRepository(em);
    await directories.lockOrganization(organization.environmentId, organization.id);
    if ((await directories.countOf(organization.id)) >= MAX_DIRECTORIES_PER_ORGANIZATION) {
      throw invalid(`${RESOURCE}.limit_reached`, `An organization has at most ${MAX_DIRECTORIES_PER_ORGANIZATION} directories`, ['input', 'organizationId']);
    }
    const token = newToken();
    const directory = new Directory();
    Object.assign(directory, {
      id: newId('directory'),
      environmentId: organization.environmentId,
      organizationId: organization.id,
      provider: input.provider,
      tokenHash: token.hash,
      tokenPrefix: token.prefix,
    });
    await apply(em, directory, input);
    em.persist(directory);
    audit(ctx, em, { action: 'directory.created', environmentId: directory.environmentId, organizationId: directory.organizationId, targets: [target(directory)], after: snapshot(directory) });
    return { directory, token: token.token };
  });
}

export async function updateDirectory(ctx: ServiceContext, input: DirectoryInput & { id: string }): Promise<Directory> {
  requireScope(ctx.principal, 'organizations:write');
  return inTransaction(ctx, async (em) => {
    const directory = await new DirectoryRepository(em).lock(input.id);
    const before = snapshot(directory);
    await apply(em, directory, input);
    audit(ctx, em, { action: 'directory.updated', environmentId: directory.environmentId, organizationId: directory.organizationId, targets: [target(directory)], before, after: snapshot(directory) });
    // New mappings apply to everyone the directory provisioned, now.
    if (JSON.stringify(before.groupRoleMappings) !== JSON.stringify(directory.groupRoleMappings)) {
      await applyGroupRoles(em, { directory, workspaceId: ctx.principal.workspaceId, meta: ctx.meta, actor: { principal: ctx.principal, meta: ctx.meta } }, null);
    }
    return directory;
  });
}

/**
 * A new bearer token for a directory. The one it replaces keeps working for `overlapSeconds`
 * (0: not at all), so the IdP can be given the new one without failed requests; a token
 * replaced earlier stops at once.
 */
export async function rotateDirectoryToken(ctx: ServiceContext, input: { id: string; overlapSeconds?: number | null }, now = new Date()): Promise<{ directory: Directory; token: string }> {
  requireScope(ctx.principal, 'organizations:write');
  const overlap = input.overlapSeconds ?? DEFAULT_TOKEN_OVERLAP_SECONDS;
  if (!Number.isInteger(overlap) || overlap < 0 || overlap > MAX_TOKEN_OVERLAP_SECONDS) {
    throw invalid(`${RESOURCE}.invalid_overlap`, `overlapSeconds must be a whole number from 0 to ${MAX_TOKEN_OVERLAP_SECONDS}`, ['input', 'overlapSeconds']);
  }
  return inTransaction(ctx, async (em) => {
    const directory = await new DirectoryRepository(em).lock(input.id);
    const token = newToken();
    directory.previousTokenHash = overlap > 0 ? directory.tokenHash : null;
    directory.previousTokenExpiresAt = overlap > 0 ? new Date(now.getTime() + overlap * 1000) : null;
    directory.tokenHash = token.hash;
    directory.tokenPrefix = token.prefix;
    audit(ctx, em, {
      action: 'directory.token_rotated',
      environmentId: directory.environmentId,
      organizationId: directory.organizationId,
      targets: [target(directory)],
      after: { tokenPrefix: directory.tokenPrefix, previousTokenExpiresAt: directory.previousTokenExpiresAt?.toISOString() ?? null },
    });
    return { directory, token: token.token };
  });
}

export async function deleteDirectory(ctx: ServiceContext, input: { id: string }): Promise<string> {
  requireScope(ctx.principal, 'organizations:write');
  return inTransaction(ctx, async (em) => {
    const directories = new DirectoryRepository(em);
    const directory = await directories.lock(input.id);
    await directories.delete(directory.id);
    audit(ctx, em, { action: 'directory.deleted', environmentId: directory.environmentId, organizationId: directory.organizationId, targets: [target(directory)], before: snapshot(directory) });
    return directory.id;
  });
}
