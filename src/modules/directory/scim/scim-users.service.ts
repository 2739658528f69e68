import type { EntityManager } from '@mikro-orm/core';
import type { RequestMeta } from '../../../audit/audit-recorder.js';
import { retryOnUniqueViolation, violatedUniqueConstraint } from '../../../db/db-errors.js';
import { newId } from '../../../db/id.js';
import type { Directory } from '../directory.entity.js';
import { DirectoryUser } from '../directory-user.entity.js';
import { DirectoryUserRepository, USER_FILTER_TARGET } from '../directory-user.repository.js';
import { recordDirectoryEvent, syncDirectoryUser } from '../directory-provisioning.js';
import { DirectoryGroupRepository, type UserGroupRow } from '../directory-group.repository.js';
import { LIST_RESPONSE_SCHEMA } from './scim-discovery.js';
import { etagMatches, scimError, scimNotFound, scimPreconditionFailed } from './scim-errors.js';
import { parseListQuery, type ListQuery } from './scim-list.js';
import { applyOperations, patchOperations } from './scim-patch.js';
import { isReturned, normalizeResource, parseProjection, project, type NormalizedResource, type Projection } from './scim-resource.js';
import { ENTERPRISE_USER_SCHEMA, USER_SCHEMA, USER_SCHEMAS } from './scim-schema.js';

/** A SCIM request of a directory, authenticated: its EntityManager is scoped to the directory's environment. */
export interface DirectoryRequestContext {
  em: EntityManager;
  directory: Directory;
  meta: RequestMeta;
  /** The directory's SCIM base URL, for `meta.location`. */
  baseUrl: string;
  workspaceId: string;
  /** What the request's input needed normalising (Entra's "True", an attribute name in another case…): the transport logs it. */
  normalized?: string[];
}

/** Keeps what normalising a request's input noted, for the transport's log. */
export function noteNormalized(ctx: DirectoryRequestContext, notes: readonly string[]): void {
  if (notes.length) (ctx.normalized ??= []).push(...notes.slice(0, 50));
}

/** A resource normalised, its notes kept. */
function normalizedIn(ctx: DirectoryRequestContext, body: unknown, schemas: typeof USER_SCHEMAS): NormalizedResource {
  const resource = normalizeResource(body, schemas);
  noteNormalized(ctx, resource.normalized);
  return resource;
}


const target = (user: DirectoryUser) => ({ type: 'directory_user', id: user.id, name: user.userName });
/** What audit events say of a provisioned user: who, not their whole profile. */
const snapshot = (user: DirectoryUser) => ({ userName: user.userName, externalId: user.externalId, active: user.active, email: user.email });

const audit = (ctx: DirectoryRequestContext, em: EntityManager, action: string, user: DirectoryUser, change: { before?: object; after?: object }) =>
  recordDirectoryEvent(em, ctx, action, [target(user)], change);

/** The primary email address, else the first work one, else the first; lower-case. */
function primaryEmail(attributes: Record<string, unknown>): string | null {
  const emails = (attributes.emails as { value?: string; type?: string; primary?: boolean }[] | undefined) ?? [];
  const chosen = emails.find((email) => email.primary) ?? emails.find((email) => email.type?.toLowerCase() === 'work') ?? emails[0];
  return chosen?.value ? chosen.value.trim().toLowerCase() : null;
}

/** The columns a normalised resource sets. */
function columnsOf(resource: NormalizedResource) {
  const { attributes } = resource;
  const userName = attributes.userName as string;
  if (!userName.trim() || userName.length > 256) throw scimError('invalidValue', '"userName" must be 1–256 characters');
  return {
    userName,
    externalId: (attributes.externalId as string | undefined) ?? null,
    active: (attributes.active as boolean | undefined) ?? true,
    displayName: (attributes.displayName as string | undefined) ?? null,
    email: primaryEmail(attributes),
    resource: Object.fromEntries(Object.entries(attributes).filter(([name]) => name !== 'externalId')),
  };
}

/** A User as SCIM shows it, with its groups when they were read. */
export function userResource(user: DirectoryUser, baseUrl: string, groups?: UserGroupRow[]): Record<string, unknown> {
  const schemas = [USER_SCHEMA, ...(user.resource[ENTERPRISE_USER_SCHEMA] ? [ENTERPRISE_USER_SCHEMA] : [])];
  return {
    schemas,
    id: user.id,
    ...(user.externalId !== null ? { externalId: user.externalId } : {}),
    ...user.resource,
    userName: user.userName,
    active: user.active,
    ...(groups?.length ? { groups: groups.map((group) => ({ value: group.id, $ref: `${baseUrl}/Groups/${group.id}`, display: group.displayName, type: 'direct' })) } : {}),
    meta: {
      resourceType: 'User',
      created: user.createdAt.toISOString(),
      lastModified: user.updatedAt.toISOString(),
      location: `${baseUrl}/Users/${user.id}`,
      version: versionOf(user),
    },
  };
}

/** The ETag of a User: its version, weak. */
export const versionOf = (user: DirectoryUser) => `W/"${user.version}"`;

/** Refuses a change whose `If-Match` names another version than the User's (RFC 7644 §3.14). */
function checkIfMatch(user: DirectoryUser, ifMatch: string | undefined): void {
  if (ifMatch !== undefined && !etagMatches(ifMatch, versionOf(user))) throw scimPreconditionFailed(versionOf(user));
}

const uniqueness = (userName: string) => scimError('uniqueness', `A User with userName "${userName.slice(0, 256)}" exists in this directory`);

/** The index that keeps userName unique per directory. */
const USER_NAME_INDEX = 'directory_user_directory_id_user_name_unique';

/**
 * Runs `work` in a transaction. A userName another User of the directory holds (the unique
 * index, also under concurrent writes) is SCIM's 409 `uniqueness`; another unique violation
 * means a concurrent request made the same person's account or membership first, and the
 * work runs once more to find them.
 */
async function inTransaction<T>(ctx: DirectoryRequestContext, userName: () => string | null, work: (em: EntityManager) => Promise<T>): Promise<T> {
  const attempt = async () => {
    try {
      return await ctx.em.transactional(work);
    } catch (error) {
      const name = userName();
      if (violatedUniqueConstraint(error) === USER_NAME_INDEX && name !== null) throw uniqueness(name);
      throw error;
    }
  };
  return retryOnUniqueViolation(attempt);
}

/** The directory's User, locked until the transaction ends, at the version `If-Match` names (when it names one). */
async function lockedUser(users: DirectoryUserRepository, ctx: DirectoryRequestContext, id: string, ifMatch: string | undefined): Promise<DirectoryUser> {
  const user = await users.lockedOfDirectory(ctx.directory.id, id);
  if (!user) throw scimNotFound(`No User "${id.slice(0, 100)}" in this directory`);
  checkIfMatch(user, ifMatch);
  return user;
}

export async function createUser(ctx: DirectoryRequestContext, body: unknown): Promise<DirectoryUser> {
  const columns = columnsOf(normalizedIn(ctx, body, USER_SCHEMAS));
  return inTransaction(ctx, () => columns.userName, async (em) => {
    // No lookup first: the unique index refuses a userName the directory holds (see inTransaction).
    const user = new DirectoryUser();
    Object.assign(user, {
      id: newId('directoryUser'),
      environmentId: ctx.directory.environmentId,
      organizationId: ctx.directory.organizationId,
      directoryId: ctx.directory.id,
      ...columns,
    });
    em.persist(user);
    const synced = await syncDirectoryUser(em, ctx, user);
    audit(ctx, em, 'directory.user.created', user, { after: { ...snapshot(user), linkedUserId: synced.userId } });
    return user;
  });
}

export async function getUser(ctx: DirectoryRequestContext, id: string): Promise<DirectoryUser> {
  const user = await new DirectoryUserRepository(ctx.em).ofDirectory(ctx.directory.id, id);
  if (!user) throw scimNotFound(`No User "${id.slice(0, 100)}" in this directory`);
  return user;
}

/**
 * A User changed to what `columnsFor` makes of it (the locked User as it is): its userName still
 * its own, its version up, its environment user and membership in step, audited.
 */
async function changeUser(ctx: DirectoryRequestContext, id: string, ifMatch: string | undefined, columnsFor: (user: DirectoryUser) => ReturnType<typeof columnsOf>): Promise<DirectoryUser> {
  let userName: string | null = null;
  return inTransaction(ctx, () => userName, async (em) => {
    const users = new DirectoryUserRepository(em);
    const user = await lockedUser(users, ctx, id, ifMatch);
    const columns = columnsFor(user);
    userName = columns.userName;
    const before = snapshot(user);
    Object.assign(user, columns);
    user.version += 1;
    const synced = await syncDirectoryUser(em, ctx, user);
    audit(ctx, em, 'directory.user.updated', user, { before, after: { ...snapshot(user), linkedUserId: synced.userId } });
    return user;
  });
}

/** PUT: the resource replaced by the body (RFC 7644 §3.5.1); the id, created time and links stay. */
export async function replaceUser(ctx: DirectoryRequestContext, id: string, body: unknown, ifMatch?: string): Promise<DirectoryUser> {
  const columns = columnsOf(normalizedIn(ctx, body, USER_SCHEMAS));
  return changeUser(ctx, id, ifMatch, () => columns);
}

/**
 * PATCH (RFC 7644 §3.5.2): the operations applied to the User as it is (locked), then the result
 * checked as a whole, as a PUT of it would be; all or nothing.
 */
export async function patchUser(ctx: DirectoryRequestContext, id: string, body: unknown, ifMatch?: string): Promise<DirectoryUser> {
  return changeUser(ctx, id, ifMatch, (user) => {
    const current = { ...(user.externalId !== null ? { externalId: user.externalId } : {}), ...user.resource, userName: user.userName, active: user.active };
    const notes: string[] = [];
    const patched = applyOperations(current, patchOperations(body, notes), USER_SCHEMAS);
    noteNormalized(ctx, notes);
    const extensions = USER_SCHEMAS.extensions.map((schema) => schema.id).filter((urn) => patched[urn] !== undefined);
    return columnsOf(normalizedIn(ctx, { ...patched, schemas: [USER_SCHEMA, ...extensions] }, USER_SCHEMAS));
  });
}

export async function deleteUser(ctx: DirectoryRequestContext, id: string, ifMatch?: string): Promise<void> {
  await inTransaction(ctx, () => null, async (em) => {
    const users = new DirectoryUserRepository(em);
    // The groups the User leaves take a new version, locked before the User as a group's own changes lock them.
    await new DirectoryGroupRepository(em).bumpGroupsOf(ctx.directory.id, id);
    const user = await lockedUser(users, ctx, id, ifMatch);
    // The person's access to the organization ends with the resource.
    await syncDirectoryUser(em, ctx, user, { deleted: true });
    await users.delete(user.id);
    audit(ctx, em, 'directory.user.deleted', user, { before: snapshot(user) });
  });
}

/** GET /Users: a page of the directory's Users matching the filter, with the total from a count. */
export async function listUsers(ctx: DirectoryRequestContext, query: ListQuery) {
  const list = parseListQuery(query, USER_FILTER_TARGET);
  const page = await new DirectoryUserRepository(ctx.em).page({ directoryId: ctx.directory.id, filter: list.filter, order: list.order, offset: list.startIndex - 1, limit: list.count });
  const groups = await groupsFor(ctx, page.rows, list.projection);
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults: page.total,
    itemsPerPage: page.rows.length,
    startIndex: list.startIndex,
    Resources: page.rows.map((user) => project(userResource(user, ctx.baseUrl, groups.get(user.id)), list.projection, USER_SCHEMAS)),
  };
}

/** GET /Users/<id> with `attributes`/`excludedAttributes`. */
export async function readUser(ctx: DirectoryRequestContext, id: string, query: Pick<ListQuery, 'attributes' | 'excludedAttributes'>) {
  const projection = parseProjection(USER_SCHEMAS, query.attributes, query.excludedAttributes);
  const user = await getUser(ctx, id);
  const groups = await groupsFor(ctx, [user], projection);
  return project(userResource(user, ctx.baseUrl, groups.get(user.id)), projection, USER_SCHEMAS);
}

/** The groups of the Users, when the response shows them (read in one statement). */
async function groupsFor(ctx: DirectoryRequestContext, users: DirectoryUser[], projection: Projection | null): Promise<Map<string, UserGroupRow[]>> {
  if (!users.length || (projection && !isReturned(projection, 'groups'))) return new Map();
  return new DirectoryGroupRepository(ctx.em).groupsOf(users.map((user) => user.id));
}

/** A User as a response to a change shows it: with its groups. */
export async function userResponseBody(ctx: DirectoryRequestContext, user: DirectoryUser): Promise<Record<string, unknown>> {
  const groups = await groupsFor(ctx, [user], null);
  return userResource(user, ctx.baseUrl, groups.get(user.id));
}
