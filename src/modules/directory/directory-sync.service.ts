import type { PageArgs } from '../../db/pagination.js';
import { notFound } from '../../errors/app-error.js';
import { requireScope } from '../../auth/principal.js';
import type { ServiceContext } from '../service-context.js';
import type { DirectoryGroup } from './directory-group.entity.js';
import { DirectoryGroupRepository } from './directory-group.repository.js';
import type { DirectoryRequestError } from './directory-request-error.entity.js';
import { DirectoryRequestErrorRepository } from './directory-request-error.repository.js';
import type { DirectoryUser } from './directory-user.entity.js';
import { DirectoryUserRepository } from './directory-user.repository.js';
import { DirectoryRepository } from './directory.repository.js';
import type { SimulatedProvider } from './simulator/provisioning-sequences.js';
import { simulateProvisioning, type Simulation } from './simulator/provisioning-simulator.js';

/** What a directory provisioned, read through the management API (`organizations:read`). */

export async function getDirectoryUser(ctx: ServiceContext, id: string): Promise<DirectoryUser> {
  requireScope(ctx.principal, 'organizations:read');
  return new DirectoryUserRepository(ctx.em).get(id);
}

export async function getDirectoryGroup(ctx: ServiceContext, id: string): Promise<DirectoryGroup> {
  requireScope(ctx.principal, 'organizations:read');
  return new DirectoryGroupRepository(ctx.em).get(id);
}

/** The directory's Users: all, the active (or inactive) ones, or the members of one of its groups. */
export async function listDirectoryUsers(ctx: ServiceContext, query: { directoryId: string; active?: boolean | null; groupId?: string | null }, args: PageArgs, maxPageSize: number) {
  requireScope(ctx.principal, 'organizations:read');
  const directory = await new DirectoryRepository(ctx.em).get(query.directoryId);
  if (query.groupId != null) {
    const group = await new DirectoryGroupRepository(ctx.em).find(query.groupId);
    if (!group || group.directoryId !== directory.id) throw notFound('directory_group', query.groupId);
  }
  return new DirectoryUserRepository(ctx.em).list({ ...query, directoryId: directory.id }, args, maxPageSize);
}

/** The directory's Groups: all, or those one of its Users is a member of. */
export async function listDirectoryGroups(ctx: ServiceContext, query: { directoryId: string; memberId?: string | null }, args: PageArgs, maxPageSize: number) {
  requireScope(ctx.principal, 'organizations:read');
  const directory = await new DirectoryRepository(ctx.em).get(query.directoryId);
  if (query.memberId != null) {
    const user = await new DirectoryUserRepository(ctx.em).find(query.memberId);
    if (!user || user.directoryId !== directory.id) throw notFound('directory_user', query.memberId);
  }
  return new DirectoryGroupRepository(ctx.em).list({ ...query, directoryId: directory.id }, args, maxPageSize);
}

/** How many Users and Groups a directory (read by the caller already) holds. */
export function directoryUserCount(ctx: ServiceContext, directoryId: string): Promise<number> {
  return new DirectoryUserRepository(ctx.em).countOf(directoryId);
}

export function directoryGroupCount(ctx: ServiceContext, directoryId: string): Promise<number> {
  return new DirectoryGroupRepository(ctx.em).countOf(directoryId);
}

export function groupMemberCount(ctx: ServiceContext, group: DirectoryGroup): Promise<number> {
  return new DirectoryGroupRepository(ctx.em).memberCount(group);
}

/** A directory's most recent failed SCIM requests, newest first. */
export function recentDirectoryErrors(ctx: ServiceContext, directoryId: string): Promise<DirectoryRequestError[]> {
  return new DirectoryRequestErrorRepository(ctx.em).recent(directoryId);
}

/** Replays an identity provider's provisioning sequence into a directory of a DEVELOPMENT environment (see provisioning-simulator.ts). Needs `organizations:write`. */
export async function simulateDirectory(ctx: ServiceContext, input: { directoryId: string; provider?: SimulatedProvider | null; emailDomain?: string | null; groupName?: string | null }, publicUrl: string): Promise<Simulation> {
  requireScope(ctx.principal, 'organizations:write');
  const directory = await new DirectoryRepository(ctx.em).get(input.directoryId);
  return simulateProvisioning(ctx.em, { ...input, directory, workspaceId: ctx.principal.workspaceId }, { publicUrl, meta: ctx.meta, actor: { principal: ctx.principal, meta: ctx.meta } });
}
