import { requireScope } from '../../auth/principal.js';
import { newId } from '../../db/id.js';
import type { PageArgs, Sort } from '../../db/pagination.js';
import { invalid } from '../../errors/app-error.js';
import { MembershipRepository } from '../membership/membership.repository.js';
import { audit, environmentFor, inTransaction, type ServiceContext } from '../service-context.js';
import { endAccessOfUser, endedSessionTargets } from '../session/session.service.js';
import { checkEmail, checkExternalId, checkKey, checkOptionalText } from '../validation.js';
import { applyCustomAttributes } from './custom-attributes.js';
import { UserStatus, type CustomAttributeDefinition, type CustomAttributeType, type User } from './user.entity.js';
import { CustomAttributeDefinitionRepository, UserRepository } from './user.repository.js';

export const snapshotUser = (user: User) => ({
  id: user.id,
  email: user.email,
  emailVerified: user.emailVerified,
  givenName: user.givenName,
  familyName: user.familyName,
  externalId: user.externalId,
  status: user.status,
  customAttributes: user.customAttributes,
});

const userTarget = (user: User) => ({ type: 'user', id: user.id, name: user.email });

/** Custom attribute definitions per environment. */
export const MAX_CUSTOM_ATTRIBUTES = 100;

export interface UserFilter {
  email?: string | null;
  externalId?: string | null;
  status?: UserStatus | null;
  organizationId?: string | null;
}

export async function getUser(ctx: ServiceContext, id: string): Promise<User> {
  requireScope(ctx.principal, 'users:read');
  return new UserRepository(ctx.em).get(id);
}

export async function getUserByEmail(ctx: ServiceContext, environmentId: string | null | undefined, email: string) {
  requireScope(ctx.principal, 'users:read');
  return new UserRepository(ctx.em).findByEmail(environmentFor(ctx, environmentId), email.trim().toLowerCase());
}

export async function listUsers(
  ctx: ServiceContext,
  query: { environmentId?: string | null; filter?: UserFilter | null; sort: Sort },
  args: PageArgs,
  maxPageSize: number,
) {
  requireScope(ctx.principal, 'users:read');
  const environmentId = environmentFor(ctx, query.environmentId);
  const filter = query.filter ?? {};
  return new UserRepository(ctx.em).list(
    {
      environmentId,
      email: filter.email != null ? filter.email.trim().toLowerCase() : null,
      externalId: filter.externalId,
      status: filter.status,
      organizationId: filter.organizationId,
    },
    query.sort,
    args,
    maxPageSize,
  );
}

function definitionsOf(ctx: ServiceContext, environmentId: string) {
  return new CustomAttributeDefinitionRepository(ctx.em).ofEnvironment(environmentId);
}

export interface UserInput {
  email?: string | null;
  emailVerified?: boolean | null;
  givenName?: string | null;
  familyName?: string | null;
  externalId?: string | null;
  customAttributes?: unknown;
}

export async function createUser(ctx: ServiceContext, input: UserInput & { environmentId?: string | null; email: string }) {
  requireScope(ctx.principal, 'users:write');
  const environmentId = environmentFor(ctx, input.environmentId);
  const definitions = await definitionsOf(ctx, environmentId);
  const values = {
    id: newId('user'),
    environmentId,
    email: checkEmail(input.email, ['input', 'email']),
    emailVerified: input.emailVerified ?? false,
    givenName: checkOptionalText(input.givenName, ['input', 'givenName'], 200),
    familyName: checkOptionalText(input.familyName, ['input', 'familyName'], 200),
    externalId: checkExternalId(input.externalId, ['input', 'externalId']),
    customAttributes: applyCustomAttributes(definitions, {}, input.customAttributes, ['input', 'customAttributes'], 'create'),
  };
  return inTransaction(ctx, async (em) => {
    const user = new UserRepository(em).create(values);
    audit(ctx, em, { action: 'user.created', environmentId, targets: [userTarget(user)], after: snapshotUser(user) });
    return user;
  });
}

export async function updateUser(ctx: ServiceContext, input: UserInput & { id: string }): Promise<User> {
  requireScope(ctx.principal, 'users:write');
  const email = input.email != null ? checkEmail(input.email, ['input', 'email']) : undefined;
  const givenName = input.givenName !== undefined ? checkOptionalText(input.givenName, ['input', 'givenName'], 200) : undefined;
  const familyName = input.familyName !== undefined ? checkOptionalText(input.familyName, ['input', 'familyName'], 200) : undefined;
  const externalId = input.externalId !== undefined ? checkExternalId(input.externalId, ['input', 'externalId']) : undefined;
  return inTransaction(ctx, async (em) => {
    const user = await new UserRepository(em).lock(input.id);
    const before = snapshotUser(user);
    if (email !== undefined) user.email = email;
    if (input.emailVerified != null) user.emailVerified = input.emailVerified;
    if (givenName !== undefined) user.givenName = givenName;
    if (familyName !== undefined) user.familyName = familyName;
    if (externalId !== undefined) user.externalId = externalId;
    if (input.customAttributes !== undefined) {
      const definitions = await new CustomAttributeDefinitionRepository(em).ofEnvironment(user.environmentId);
      const field = ['input', 'customAttributes'];
      user.customAttributes = applyCustomAttributes(definitions, user.customAttributes, input.customAttributes, field, 'update');
    }
    audit(ctx, em, { action: 'user.updated', environmentId: user.environmentId, targets: [userTarget(user)], before, after: snapshotUser(user) });
    return user;
  });
}

export async function setUserStatus(ctx: ServiceContext, id: string, status: UserStatus.ACTIVE | UserStatus.SUSPENDED) {
  requireScope(ctx.principal, 'users:write');
  return inTransaction(ctx, async (em) => {
    const user = await new UserRepository(em).lock(id);
    if (user.status === status) {
      throw invalid('user.status_unchanged', `The user is already ${status.toLowerCase()}`, ['input', 'id']);
    }
    const before = snapshotUser(user);
    user.status = status;
    // A suspended user is cut off at once: their sessions end and their tokens are revoked.
    const ended = status === UserStatus.SUSPENDED ? await endAccessOfUser(em, user.id, 'user_suspended') : [];
    audit(ctx, em, {
      action: status === UserStatus.SUSPENDED ? 'user.suspended' : 'user.reactivated',
      environmentId: user.environmentId,
      targets: [userTarget(user), ...endedSessionTargets(ended)],
      before,
      after: snapshotUser(user),
    });
    return user;
  });
}

/**
 * Deletes a user; their memberships go with them and are named in the event. Their live
 * sessions end first, so that the access tokens issued through them are revoked.
 */
export async function deleteUser(ctx: ServiceContext, input: { id: string }): Promise<string> {
  requireScope(ctx.principal, 'users:write');
  return inTransaction(ctx, async (em) => {
    const users = new UserRepository(em);
    const user = await users.lock(input.id);
    const memberships = await new MembershipRepository(em).ofUser(user.id);
    // Sessions and refresh tokens go with the user's rows; live access tokens must be revoked.
    const ended = await endAccessOfUser(em, user.id, 'revoked');
    await users.delete(user.id);
    audit(ctx, em, {
      action: 'user.deleted',
      environmentId: user.environmentId,
      targets: [userTarget(user), ...endedSessionTargets(ended)],
      before: { ...snapshotUser(user), memberships: memberships.map((m) => ({ id: m.id, organizationId: m.organizationId })) },
    });
    return user.id;
  });
}

const snapshotDefinition = (definition: CustomAttributeDefinition) => ({
  id: definition.id,
  key: definition.key,
  type: definition.type,
  required: definition.required,
  description: definition.description,
});

export async function listCustomAttributeDefinitions(ctx: ServiceContext, environmentId: string | null | undefined) {
  requireScope(ctx.principal, 'users:read');
  return definitionsOf(ctx, environmentFor(ctx, environmentId));
}

export async function createCustomAttributeDefinition(
  ctx: ServiceContext,
  input: { environmentId?: string | null; key: string; type: CustomAttributeType; required?: boolean | null; description?: string | null },
) {
  requireScope(ctx.principal, 'users:write');
  const environmentId = environmentFor(ctx, input.environmentId);
  const values = {
    id: newId('customAttribute'),
    environmentId,
    key: checkKey(input.key, ['input', 'key']),
    type: input.type,
    required: input.required ?? false,
    description: checkOptionalText(input.description, ['input', 'description']),
  };
  return inTransaction(ctx, async (em) => {
    const definitions = new CustomAttributeDefinitionRepository(em);
    // Serialise definition changes of one environment so the cap holds under concurrency.
    await definitions.lockEnvironment(environmentId);
    if ((await definitions.countOf(environmentId)) >= MAX_CUSTOM_ATTRIBUTES) {
      throw invalid('custom_attribute.too_many', `An environment has at most ${MAX_CUSTOM_ATTRIBUTES} custom attributes`, ['input', 'key']);
    }
    const definition = definitions.create(values);
    audit(ctx, em, {
      action: 'custom_attribute.created',
      environmentId,
      targets: [{ type: 'custom_attribute', id: definition.id, name: definition.key }],
      after: snapshotDefinition(definition),
    });
    return definition;
  });
}

export async function updateCustomAttributeDefinition(
  ctx: ServiceContext,
  input: { id: string; required?: boolean | null; description?: string | null },
) {
  requireScope(ctx.principal, 'users:write');
  const description = input.description !== undefined ? checkOptionalText(input.description, ['input', 'description']) : undefined;
  return inTransaction(ctx, async (em) => {
    const definition = await new CustomAttributeDefinitionRepository(em).lock(input.id);
    const before = snapshotDefinition(definition);
    if (input.required != null) definition.required = input.required;
    if (description !== undefined) definition.description = description;
    audit(ctx, em, {
      action: 'custom_attribute.updated',
      environmentId: definition.environmentId,
      targets: [{ type: 'custom_attribute', id: definition.id, name: definition.key }],
      before,
      after: snapshotDefinition(definition),
    });
    return definition;
  });
}

/** Deleting a definition also drops its values from every user of the environment. */
export async function deleteCustomAttributeDefinition(ctx: ServiceContext, input: { id: string }): Promise<string> {
  requireScope(ctx.principal, 'users:write');
  const definition = await new CustomAttributeDefinitionRepository(ctx.em).get(input.id);
  return inTransaction(ctx, async (em) => {
    await new CustomAttributeDefinitionRepository(em).deleteWithValues(definition);
    audit(ctx, em, {
      action: 'custom_attribute.deleted',
      environmentId: definition.environmentId,
      targets: [{ type: 'custom_attribute', id: definition.id, name: definition.key }],
      before: snapshotDefinition(definition),
    });
    return definition.id;
  });
}


export async function getCustomAttributeDefinition(ctx: ServiceContext, id: string) {
  requireScope(ctx.principal, 'users:read');
  return new CustomAttributeDefinitionRepository(ctx.em).get(id);
}
