import type { EntityManager } from '@mikro-orm/core';
import { recordAudit } from '../../audit/audit-recorder.js';
import { rolesForGroups, type GroupRoleMapping } from '../connection/attribute-mapping.js';
import { MembershipRepository } from '../membership/membership.repository.js';
import { DEFAULT_MEMBERSHIP_ROLE } from '../role/builtin-roles.js';
import { RoleRepository } from '../role/role.repository.js';
import { DirectoryGroupRepository, type RoleSubject } from './directory-group.repository.js';
import { actorOf, type ProvisioningContext } from './directory-provisioning.js';
import { DirectoryRepository } from './directory.repository.js';

/** People whose roles one pass recomputes when every provisioned person is concerned (a mapping changed). */
const ALL_USERS_CHUNK = 1000;

/** Whether a group of this name can change anyone's roles: some mapping row names it. */
export function isMappedGroup(mappings: readonly { group: string }[], displayName: string): boolean {
  return mappings.some((mapping) => mapping.group.toLowerCase() === displayName.toLowerCase());
}

/**
 * Brings the roles of provisioned people in step with the directory's group → role mappings:
 * the first mapping row whose group a person is in gives their roles, the default role when no
 * row matches. Only active directory users with an active membership are concerned; nothing
 * happens when the directory maps no groups (roles are then managed in Gatehouse). `userIds`:
 * the directory users whose groups changed, or null for all of them (the mappings changed).
 * Set-based: a few statements per thousand people, one audit event per membership changed.
 */
export async function applyGroupRoles(em: EntityManager, ctx: ProvisioningContext, userIds: readonly string[] | null): Promise<number> {
  if (!ctx.directory.groupRoleMappings.length || (userIds && !userIds.length)) return 0;
  // The statements below read memberships and members the unit of work may not have written yet.
  await em.flush();
  // One recomputation of the directory's people at a time, with the mappings as committed.
  const mappings = await new DirectoryRepository(em).lockRolesOf(ctx.directory.id);
  if (!mappings.length) return 0;
  const groups = new DirectoryGroupRepository(em);
  if (userIds) {
    let changed = 0;
    for (let start = 0; start < userIds.length; start += ALL_USERS_CHUNK) {
      changed += await applyTo(em, ctx, mappings, await groups.roleSubjects(ctx.directory, userIds.slice(start, start + ALL_USERS_CHUNK)));
    }
    return changed;
  }
  let changed = 0;
  let afterId = '';
  for (;;) {
    const subjects = await groups.roleSubjects(ctx.directory, null, { afterId, limit: ALL_USERS_CHUNK });
    changed += await applyTo(em, ctx, mappings, subjects);
    if (subjects.length < ALL_USERS_CHUNK) return changed;
    afterId = subjects[subjects.length - 1]!.directoryUserId;
  }
}

async function applyTo(em: EntityManager, ctx: ProvisioningContext, mappings: readonly GroupRoleMapping[], subjects: RoleSubject[]): Promise<number> {
  const sorted = (keys: readonly string[]) => [...new Set(keys)].sort();
  const wanted = subjects.map((subject) => {
    const mapped = rolesForGroups(mappings, subject.groups) ?? [];
    return { subject, keys: sorted(mapped.length ? mapped : [DEFAULT_MEMBERSHIP_ROLE]) };
  });
  const roles = await new RoleRepository(em).withKeys(ctx.directory.environmentId, [...new Set(wanted.flatMap((entry) => entry.keys))]);
  const idOf = new Map(roles.map((role) => [role.key, role.id]));
  const changes = new Map<string, string[]>();
  for (const entry of wanted) {
    // A mapped role since deleted from the environment is not granted.
    const keys = entry.keys.filter((key) => idOf.has(key));
    const before = sorted(entry.subject.roleKeys);
    if (keys.join('\n') === before.join('\n')) continue;
    changes.set(entry.subject.membershipId, keys.map((key) => idOf.get(key)!));
    recordAudit(em, actorOf(ctx), {
      action: 'membership.roles_changed',
      workspaceId: ctx.workspaceId,
      environmentId: ctx.directory.environmentId,
      organizationId: ctx.directory.organizationId,
      targets: [
        { type: 'membership', id: entry.subject.membershipId },
        { type: 'user', id: entry.subject.userId },
        { type: 'directory_user', id: entry.subject.directoryUserId },
        { type: 'directory', id: ctx.directory.id, name: ctx.directory.name },
      ],
      before: { roles: before },
      after: { roles: keys, changedBy: 'scim', groups: entry.subject.groups.slice(0, 50) },
    });
  }
  await new MembershipRepository(em).replaceRolesOfMany(changes);
  return changes.size;
}
