import type { EntityManager } from '@mikro-orm/core';
import { recordAudit, type RequestMeta } from '../../audit/audit-recorder.js';
import { newId } from '../../db/id.js';
import { MembershipStatus, type Membership } from '../membership/membership.entity.js';
import { MembershipRepository } from '../membership/membership.repository.js';
import { DEFAULT_MEMBERSHIP_ROLE } from '../role/builtin-roles.js';
import type { Role } from '../role/role.entity.js';
import { RoleRepository } from '../role/role.repository.js';
import { applyCustomAttributes } from '../user/custom-attributes.js';
import { CustomAttributeType, type CustomAttributeDefinition, type User } from '../user/user.entity.js';
import { CustomAttributeDefinitionRepository } from '../user/user.repository.js';
import { rolesForGroups } from './attribute-mapping.js';
import type { SsoConnection } from './connection.entity.js';
import type { SsoIdentity } from './saml-request.entity.js';

/** An IdP's text value as the type a custom attribute definition wants; undefined when it cannot be. */
function typedValue(definition: CustomAttributeDefinition, value: string): unknown {
  switch (definition.type) {
    case CustomAttributeType.NUMBER: {
      const number = value.trim() === '' ? Number.NaN : Number(value);
      return Number.isFinite(number) ? number : undefined;
    }
    case CustomAttributeType.BOOLEAN:
      return /^(true|1)$/i.test(value) ? true : /^(false|0)$/i.test(value) ? false : undefined;
    default:
      return value;
  }
}

/**
 * What an IdP says about a person it just signed in, applied in Gatehouse (run in the sign-in's
 * transaction):
 * - its names replace theirs;
 * - mapped custom attributes are set (a value that does not fit its definition is skipped, not
 *   fatal: a sign-in does not fail on a department's spelling);
 * - their membership of the connection's organization is created when missing; its roles follow
 *   the connection's group → role mapping when it has one (the first matching row, else the
 *   default role), and are otherwise left to Gatehouse (a new membership gets the default role).
 */
export async function applyIdpProfile(
  em: EntityManager,
  env: { id: string; workspaceId: string },
  input: {
    user: User;
    membership: Membership | null;
    connection: SsoConnection;
    identity: SsoIdentity;
    meta: RequestMeta;
    /** The environment's roles with the keys of `idpRoleKeys` (or the default role's when null), when the caller read them already. */
    roles?: Pick<Role, 'id' | 'key'>[];
  },
): Promise<void> {
  const { user, connection, identity } = input;
  if (identity.givenName && user.givenName !== identity.givenName) user.givenName = identity.givenName;
  if (identity.familyName && user.familyName !== identity.familyName) user.familyName = identity.familyName;
  if (Object.keys(identity.custom).length) await applyCustomValues(em, env.id, user, identity.custom);

  const wanted = idpRoleKeys(connection, identity);
  const rolesWithKeys = (keys: readonly string[]) => input.roles ?? new RoleRepository(em).withKeys(env.id, keys);
  const memberships = new MembershipRepository(em);
  const actor = { principal: null, user: { id: user.id, email: user.email }, meta: input.meta };
  const targets = (membershipId: string) => [
    { type: 'membership', id: membershipId },
    { type: 'user', id: user.id, name: user.email },
  ];
  const membership = input.membership;
  if (!membership) {
    const roles = await rolesWithKeys(wanted ?? [DEFAULT_MEMBERSHIP_ROLE]);
    const created = memberships.create(
      { id: newId('membership'), environmentId: env.id, organizationId: connection.organizationId, userId: user.id, status: MembershipStatus.ACTIVE },
      roles.map((role) => role.id),
    );
    recordAudit(em, actor, {
      action: 'membership.created',
      workspaceId: env.workspaceId,
      environmentId: env.id,
      organizationId: connection.organizationId,
      targets: targets(created.id),
      after: { status: created.status, roles: roles.map((role) => role.key).sort(), provisionedBy: 'sso', connectionId: connection.id },
    });
    return;
  }
  if (membership.status === MembershipStatus.PENDING) membership.status = MembershipStatus.ACTIVE;
  if (!wanted) return;
  const before = await memberships.roleKeysOf(membership.id);
  const roles = await rolesWithKeys(wanted);
  const after = roles.map((role) => role.key).sort();
  if (before.join('\n') === after.join('\n')) return;
  await memberships.removeAllRoles(membership.id);
  await memberships.addRoles(membership.id, roles.map((role) => role.id));
  membership.updatedAt = new Date();
  recordAudit(em, actor, {
    action: 'membership.roles_changed',
    workspaceId: env.workspaceId,
    environmentId: env.id,
    organizationId: connection.organizationId,
    targets: targets(membership.id),
    before: { roles: before },
    after: { roles: after, changedBy: 'sso', connectionId: connection.id, groups: identity.groups.slice(0, 50) },
  });
}

/**
 * The keys of the roles the connection's group → role mapping gives the IdP's groups (the
 * default role when no row matches), or null when the connection maps no groups.
 */
export function idpRoleKeys(connection: Pick<SsoConnection, 'groupRoleMappings'>, identity: Pick<SsoIdentity, 'groups'>): string[] | null {
  const mapped = rolesForGroups(connection.groupRoleMappings, identity.groups);
  return mapped === null ? null : mapped.length ? mapped : [DEFAULT_MEMBERSHIP_ROLE];
}

async function applyCustomValues(em: EntityManager, environmentId: string, user: User, values: Record<string, string>): Promise<void> {
  const definitions = await new CustomAttributeDefinitionRepository(em).ofEnvironment(environmentId);
  let current = user.customAttributes;
  for (const [key, text] of Object.entries(values)) {
    const definition = definitions.find((candidate) => candidate.key === key);
    const value = definition ? typedValue(definition, text) : undefined;
    if (value === undefined) continue;
    try {
      current = applyCustomAttributes(definitions, current, { [key]: value }, ['customAttributes'], 'update');
    } catch {
      // A value its definition refuses (too long, not a date) is left out.
    }
  }
  if (JSON.stringify(current) !== JSON.stringify(user.customAttributes)) user.customAttributes = current;
}
