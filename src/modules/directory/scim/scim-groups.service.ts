import type { EntityManager } from '@mikro-orm/core';
import { newId } from '../../../db/id.js';
import { DirectoryGroup } from '../directory-group.entity.js';
import { DirectoryGroupRepository, GROUP_FILTER_TARGET, type GroupMemberRow } from '../directory-group.repository.js';
import { recordDirectoryEvent } from '../directory-provisioning.js';
import { applyGroupRoles, isMappedGroup } from '../directory-roles.js';
import { DirectoryUserRepository } from '../directory-user.repository.js';
import { LIST_RESPONSE_SCHEMA } from './scim-discovery.js';
import { etagMatches, scimError, scimNotFound, scimPreconditionFailed } from './scim-errors.js';
import { parseListQuery, type ListQuery } from './scim-list.js';
import { foldMemberOperation, isMembersPath, memberIds, noMemberChange, type MemberChange } from './scim-members.js';
import { applyOperations, patchOperations, type PatchOperation } from './scim-patch.js';
import { isReturned, normalizeResource, parseProjection, project, type Projection } from './scim-resource.js';
import { GROUP_SCHEMA, GROUP_SCHEMAS } from './scim-schema.js';
import { noteNormalized, type DirectoryRequestContext } from './scim-users.service.js';

/**
 * SCIM Groups (RFC 7644 §3) of a directory. A Group's members are rows of their own: a request
 * names the members it adds or removes and only those rows are written, so two writers adding
 * different members to one group lose neither, and a group of tens of thousands is never read
 * whole to change one member. Member changes drive roles through the directory's group → role
 * mappings, in the same transaction.
 */

const target = (group: DirectoryGroup) => ({ type: 'directory_group', id: group.id, name: group.displayName });
const snapshot = (group: DirectoryGroup) => ({ displayName: group.displayName, externalId: group.externalId });

const audit = (ctx: DirectoryRequestContext, em: EntityManager, action: string, targets: { type: string; id: string; name?: string }[], change: { before?: object; after?: object }) =>
  recordDirectoryEvent(em, ctx, action, targets, change);

export const groupVersionOf = (group: DirectoryGroup) => `W/"${group.version}"`;

/** A Group as SCIM shows it; `members` when they were read. */
export function groupResource(group: DirectoryGroup, baseUrl: string, members?: GroupMemberRow[]): Record<string, unknown> {
  return {
    schemas: [GROUP_SCHEMA],
    id: group.id,
    ...(group.externalId !== null ? { externalId: group.externalId } : {}),
    displayName: group.displayName,
    ...(members ? { members: members.map((member) => ({ value: member.id, $ref: `${baseUrl}/Users/${member.id}`, display: member.display, type: 'User' })) } : {}),
    meta: {
      resourceType: 'Group',
      created: group.createdAt.toISOString(),
      lastModified: group.updatedAt.toISOString(),
      location: `${baseUrl}/Groups/${group.id}`,
      version: groupVersionOf(group),
    },
  };
}

/** The columns a Group's attributes set, checked against the schema; its members apart. */
function groupColumnsOf(ctx: DirectoryRequestContext, body: unknown): { displayName: string; externalId: string | null; members: string[] | null } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw scimError('invalidSyntax', 'The body must be a JSON object (a SCIM resource)');
  const membersKey = Object.keys(body).find((key) => key.toLowerCase() === 'members');
  const { [membersKey ?? 'members']: members, ...rest } = body as Record<string, unknown>;
  const { attributes, normalized } = normalizeResource(rest, GROUP_SCHEMAS);
  noteNormalized(ctx, normalized);
  return {
    ...checkedColumns(attributes),
    members: membersKey === undefined ? null : memberIds(members, 'members', { count: 0 }),
  };
}

function checkedColumns(attributes: Record<string, unknown>): { displayName: string; externalId: string | null } {
  const displayName = attributes.displayName as string;
  if (!displayName.trim() || displayName.length > 256) throw scimError('invalidValue', '"displayName" must be 1–256 characters');
  return { displayName, externalId: (attributes.externalId as string | undefined) ?? null };
}

/** The directory's Group, locked until the transaction ends, at the version `If-Match` names (when it names one). */
async function lockedGroup(groups: DirectoryGroupRepository, ctx: DirectoryRequestContext, id: string, ifMatch: string | undefined): Promise<DirectoryGroup> {
  const group = await groups.lockedOfDirectory(ctx.directory.id, id);
  if (!group) throw scimNotFound(`No Group "${id.slice(0, 100)}" in this directory`);
  if (ifMatch !== undefined && !etagMatches(ifMatch, groupVersionOf(group))) throw scimPreconditionFailed(groupVersionOf(group));
  return group;
}

/** Members added or removed by one request that are audited one by one, at most; beyond, one `directory.group.members_changed` event counts them. */
export const MAX_MEMBER_EVENTS = 1000;
const MEMBER_IDS_IN_SUMMARY = 100;

/**
 * Applies a member change to a locked group: every member added must be a User of the
 * directory; only the named rows are written. Audited one event per member added or removed
 * (a summary beyond MAX_MEMBER_EVENTS).
 */
async function applyMemberChange(ctx: DirectoryRequestContext, em: EntityManager, group: DirectoryGroup, change: MemberChange): Promise<{ added: string[]; removed: string[] }> {
  const groups = new DirectoryGroupRepository(em);
  const wanted = [...change.add];
  // The Users whose `groups` change take a new version (ETag) first, locked in id order; those found are the directory's.
  const concerned = change.reset ? [...(await groups.memberIds(group)), ...wanted] : [...wanted, ...change.remove];
  const existing = await new DirectoryUserRepository(em).bumpVersions(ctx.directory.id, concerned);
  const unknown = wanted.find((id) => !existing.has(id));
  if (unknown !== undefined) throw scimError('invalidValue', `members: "${unknown.slice(0, 100)}" is not a User of this directory`);
  const removed = change.reset ? await groups.removeMembersExcept(group, wanted) : await groups.removeMembers(group, [...change.remove]);
  const added = await groups.addMembers(group, wanted);
  if (added.length + removed.length > MAX_MEMBER_EVENTS) {
    // Emptying or replacing a large group: one event that counts, not one per member.
    audit(ctx, em, 'directory.group.members_changed', [target(group)], {
      after: { added: added.length, removed: removed.length, addedIds: added.slice(0, MEMBER_IDS_IN_SUMMARY), removedIds: removed.slice(0, MEMBER_IDS_IN_SUMMARY) },
    });
    return { added, removed };
  }
  for (const id of added) audit(ctx, em, 'directory.group.member_added', [target(group), { type: 'directory_user', id }], {});
  for (const id of removed) audit(ctx, em, 'directory.group.member_removed', [target(group), { type: 'directory_user', id }], {});
  return { added, removed };
}

/** Recomputes the roles of the people whose groups changed, when a mapping names the group (by its old or new name). */
async function rolesAfter(ctx: DirectoryRequestContext, em: EntityManager, names: string[], userIds: () => Promise<string[]> | string[]): Promise<void> {
  if (!names.some((name) => isMappedGroup(ctx.directory.groupRoleMappings, name))) return;
  await applyGroupRoles(em, ctx, await userIds());
}

export async function createGroup(ctx: DirectoryRequestContext, body: unknown): Promise<{ group: DirectoryGroup; members: GroupMemberRow[] | undefined }> {
  const columns = groupColumnsOf(ctx, body);
  return ctx.em.transactional(async (em) => {
    const group = new DirectoryGroup();
    Object.assign(group, {
      id: newId('directoryGroup'),
      environmentId: ctx.directory.environmentId,
      organizationId: ctx.directory.organizationId,
      directoryId: ctx.directory.id,
      displayName: columns.displayName,
      externalId: columns.externalId,
    });
    em.persist(group);
    audit(ctx, em, 'directory.group.created', [target(group)], { after: { ...snapshot(group), members: columns.members?.length ?? 0 } });
    await em.flush();
    let members: GroupMemberRow[] | undefined;
    if (columns.members?.length) {
      const { added } = await applyMemberChange(ctx, em, group, { reset: false, add: new Set(columns.members), remove: new Set() });
      await rolesAfter(ctx, em, [group.displayName], () => added);
      members = (await new DirectoryGroupRepository(em).membersOf([group.id], MAX_MEMBERS_OF_A_GROUP))?.get(group.id);
    }
    return { group, members: members ?? (columns.members ? [] : undefined) };
  });
}

/** PUT: the displayName and externalId replaced; the members replaced by the list given, or kept when the body has none. */
export async function replaceGroup(ctx: DirectoryRequestContext, id: string, body: unknown, ifMatch?: string): Promise<DirectoryGroup> {
  const columns = groupColumnsOf(ctx, body);
  const change = noMemberChange();
  if (columns.members) {
    change.reset = true;
    change.add = new Set(columns.members);
  }
  return changeGroup(ctx, id, ifMatch, () => ({ displayName: columns.displayName, externalId: columns.externalId }), change);
}

/**
 * PATCH: operations on `members` (whole list, a value, `members[value eq "…"]`) become a member
 * change that names only the members concerned; the others apply to the Group's attributes,
 * whose result is checked as a whole. All of it or none.
 */
export async function patchGroup(ctx: DirectoryRequestContext, id: string, body: unknown, ifMatch?: string): Promise<DirectoryGroup> {
  const change = noMemberChange();
  const counter = { count: 0 };
  const attributeOperations: PatchOperation[] = [];
  const notes: string[] = [];
  const operations = patchOperations(body, notes);
  noteNormalized(ctx, notes);
  for (const operation of operations) {
    if (operation.path !== undefined) {
      if (isMembersPath(operation.path)) foldMemberOperation(change, operation.op, operation.path, operation.value, operation.where, counter);
      else attributeOperations.push(operation);
      continue;
    }
    // Path-less: `members` in the value is a member operation, the rest attributes (Okta's `{id, displayName}`).
    const value = { ...(operation.value as Record<string, unknown>) };
    const membersKey = Object.keys(value).find((key) => key.toLowerCase() === 'members');
    if (membersKey !== undefined) {
      foldMemberOperation(change, operation.op, null, value[membersKey], operation.where, counter);
      delete value[membersKey];
    }
    if (Object.keys(value).length) attributeOperations.push({ ...operation, value });
  }
  return changeGroup(
    ctx,
    id,
    ifMatch,
    (group) => {
      if (!attributeOperations.length) return snapshot(group);
      const current = { displayName: group.displayName, ...(group.externalId !== null ? { externalId: group.externalId } : {}) };
      const patched = applyOperations(current, attributeOperations, GROUP_SCHEMAS);
      return checkedColumns(normalizeResource({ ...patched, schemas: [GROUP_SCHEMA] }, GROUP_SCHEMAS).attributes);
    },
    change,
  );
}

/** A Group changed under its lock: attributes as `columnsFor` makes them, members as `change` says, version up, roles in step. */
async function changeGroup(
  ctx: DirectoryRequestContext,
  id: string,
  ifMatch: string | undefined,
  columnsFor: (group: DirectoryGroup) => { displayName: string; externalId: string | null },
  change: MemberChange,
): Promise<DirectoryGroup> {
  return ctx.em.transactional(async (em) => {
    const groups = new DirectoryGroupRepository(em);
    const group = await lockedGroup(groups, ctx, id, ifMatch);
    const before = snapshot(group);
    const columns = columnsFor(group);
    const renamed = columns.displayName !== group.displayName;
    const attributesChanged = renamed || columns.externalId !== group.externalId;
    Object.assign(group, columns);
    const { added, removed } = await applyMemberChange(ctx, em, group, change);
    if (!attributesChanged && !added.length && !removed.length) return group;
    group.version += 1;
    if (attributesChanged) audit(ctx, em, 'directory.group.updated', [target(group)], { before, after: snapshot(group) });
    if (renamed) await rolesAfter(ctx, em, [before.displayName, group.displayName], () => groups.memberIds(group));
    else await rolesAfter(ctx, em, [group.displayName], () => [...added, ...removed]);
    return group;
  });
}

export async function deleteGroup(ctx: DirectoryRequestContext, id: string, ifMatch?: string): Promise<void> {
  await ctx.em.transactional(async (em) => {
    const groups = new DirectoryGroupRepository(em);
    const group = await lockedGroup(groups, ctx, id, ifMatch);
    await new DirectoryUserRepository(em).bumpVersions(ctx.directory.id, await groups.memberIds(group));
    const removed = await groups.removeMembersExcept(group, []);
    await groups.delete(group.id);
    audit(ctx, em, 'directory.group.deleted', [target(group)], { before: { ...snapshot(group), members: removed.length } });
    await rolesAfter(ctx, em, [group.displayName], () => removed);
  });
}

/** Members one response shows, at most: of a single Group, and of all the Groups of a list page. */
export const MAX_MEMBERS_OF_A_GROUP = 100_000;
export const MAX_MEMBERS_OF_A_PAGE = 10_000;

/** The members of the Groups, when the response shows them; a response that would hold more than `limit` is refused (`tooMany`). */
async function membersFor(ctx: DirectoryRequestContext, groups: DirectoryGroup[], projection: Projection | null, limit: number): Promise<Map<string, GroupMemberRow[]> | null> {
  if (!groups.length || (projection && !isReturned(projection, 'members'))) return null;
  const members = await new DirectoryGroupRepository(ctx.em).membersOf(groups.map((group) => group.id), limit);
  if (!members) throw scimError('tooMany', `The response would hold more than ${limit} members: ask with excludedAttributes=members${groups.length > 1 ? ', or a smaller count' : ''}`);
  return members;
}

/** GET /Groups: a page of the directory's Groups; members read only when the response shows them. */
export async function listGroups(ctx: DirectoryRequestContext, query: ListQuery) {
  const list = parseListQuery(query, GROUP_FILTER_TARGET);
  const page = await new DirectoryGroupRepository(ctx.em).page({ directoryId: ctx.directory.id, filter: list.filter, order: list.order, offset: list.startIndex - 1, limit: list.count });
  const members = await membersFor(ctx, page.rows, list.projection, MAX_MEMBERS_OF_A_PAGE);
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults: page.total,
    itemsPerPage: page.rows.length,
    startIndex: list.startIndex,
    Resources: page.rows.map((group) => project(groupResource(group, ctx.baseUrl, members?.get(group.id)), list.projection, GROUP_SCHEMAS)),
  };
}

/** GET /Groups/<id>, or the representation a change returns when asked for (`attributes`/`excludedAttributes`). */
export async function readGroup(ctx: DirectoryRequestContext, idOrGroup: string | DirectoryGroup, query: Pick<ListQuery, 'attributes' | 'excludedAttributes'>) {
  const projection = parseProjection(GROUP_SCHEMAS, query.attributes, query.excludedAttributes);
  const group = typeof idOrGroup === 'string' ? await new DirectoryGroupRepository(ctx.em).ofDirectory(ctx.directory.id, idOrGroup) : idOrGroup;
  if (!group) throw scimNotFound(`No Group "${String(idOrGroup).slice(0, 100)}" in this directory`);
  const members = await membersFor(ctx, [group], projection, MAX_MEMBERS_OF_A_GROUP);
  return project(groupResource(group, ctx.baseUrl, members?.get(group.id)), projection, GROUP_SCHEMAS);
}
