import type { FilterQuery } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/postgresql';
import { requireScope } from '../../auth/principal.js';
import { newId } from '../../db/id.js';
import { paginate, type PageArgs, type Sort } from '../../db/pagination.js';
import { invalid } from '../../errors/app-error.js';
import { Membership } from '../membership/membership.entity.js';
import { audit, environmentFor, findScoped, inTransaction, type ServiceContext } from '../service-context.js';
import { checkEmail, checkExternalId, checkKey, checkOptionalText } from '../validation.js';
import { applyCustomAttributes } from './custom-attributes.js';
import { CustomAttributeDefinition, CustomAttributeType, User, UserStatus } from './user.entity.js';

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

export interface UserFilter {
  email?: string | null;
  externalId?: string | null;
  status?: UserStatus | null;
  organizationId?: string | null;
}

export async function getUser(ctx: ServiceContext, id: string): Promise<User> {
  requireScope(ctx.principal, 'users:read');
  return findScoped(ctx, User, 'user', id);
}

export async function getUserByEmail(ctx: ServiceContext, environmentId: string | null | undefined, email: string) {
  requireScope(ctx.principal, 'users:read');
  return ctx.em.findOne(User, { environmentId: environmentFor(ctx, environmentId), email: email.trim().toLowerCase() });
}

export async function listUsers(
  ctx: ServiceContext,
  query: { environmentId?: string | null; filter?: UserFilter | null; sort: Sort },
  args: PageArgs,
  maxPageSize: number,
) {
  requireScope(ctx.principal, 'users:read');
  const environmentId = environmentFor(ctx, query.environmentId);
  const where: FilterQuery<User>[] = [{ environmentId }];
  const filter = query.filter ?? {};
  if (filter.email != null) where.push({ email: filter.email.trim().toLowerCase() });
  if (filter.externalId != null) where.push({ externalId: filter.externalId });
  if (filter.status != null) where.push({ status: filter.status });
  if (filter.organizationId != null) {
    const members = await ctx.em.find(
      Membership,
      { environmentId, organizationId: filter.organizationId },
      { fields: ['userId'] },
    );
    where.push({ id: { $in: members.map((m) => m.userId) } });
  }
  return paginate(ctx.em, User, { $and: where }, query.sort, args, maxPageSize);
}

function definitionsOf(ctx: ServiceContext, environmentId: string) {
  return ctx.em.find(CustomAttributeDefinition, { environmentId }, { orderBy: { key: 'ASC' } });
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
    customAttributes: applyCustomAttributes(definitions, {}, input.customAttributes, ['input', 'customAttributes']),
  };
  return inTransaction(ctx, async (em) => {
    const user = em.create(User, values);
    em.persist(user);
    audit(ctx, em, { action: 'user.created', environmentId, targets: [userTarget(user)], after: snapshotUser(user) });
    return user;
  });
}

export async function updateUser(ctx: ServiceContext, input: UserInput & { id: string }): Promise<User> {
  requireScope(ctx.principal, 'users:write');
  const user = await getUser(ctx, input.id);
  const before = snapshotUser(user);
  if (input.email != null) user.email = checkEmail(input.email, ['input', 'email']);
  if (input.emailVerified != null) user.emailVerified = input.emailVerified;
  if (input.givenName !== undefined) user.givenName = checkOptionalText(input.givenName, ['input', 'givenName'], 200);
  if (input.familyName !== undefined) user.familyName = checkOptionalText(input.familyName, ['input', 'familyName'], 200);
  if (input.externalId !== undefined) user.externalId = checkExternalId(input.externalId, ['input', 'externalId']);
  if (input.customAttributes !== undefined) {
    const definitions = await definitionsOf(ctx, user.environmentId);
    user.customAttributes = applyCustomAttributes(definitions, user.customAttributes, input.customAttributes, [
      'input',
      'customAttributes',
    ]);
  }
  return saveUser(ctx, user, 'user.updated', before);
}

async function saveUser(ctx: ServiceContext, user: User, action: string, before: object): Promise<User> {
  return inTransaction(ctx, async (em) => {
    em.persist(user);
    audit(ctx, em, { action, environmentId: user.environmentId, targets: [userTarget(user)], before, after: snapshotUser(user) });
    return user;
  });
}

export async function setUserStatus(ctx: ServiceContext, id: string, status: UserStatus.ACTIVE | UserStatus.SUSPENDED) {
  requireScope(ctx.principal, 'users:write');
  const user = await getUser(ctx, id);
  if (user.status === status) {
    throw invalid('user.status_unchanged', `The user is already ${status.toLowerCase()}`, ['input', 'id']);
  }
  const before = snapshotUser(user);
  user.status = status;
  return saveUser(ctx, user, status === UserStatus.SUSPENDED ? 'user.suspended' : 'user.reactivated', before);
}

export async function deleteUser(ctx: ServiceContext, input: { id: string }): Promise<string> {
  requireScope(ctx.principal, 'users:write');
  const user = await getUser(ctx, input.id);
  return inTransaction(ctx, async (em) => {
    await em.nativeDelete(User, { id: user.id });
    audit(ctx, em, { action: 'user.deleted', environmentId: user.environmentId, targets: [userTarget(user)], before: snapshotUser(user) });
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
    const definition = em.create(CustomAttributeDefinition, values);
    em.persist(definition);
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
  const definition = await findScoped(ctx, CustomAttributeDefinition, 'custom_attribute', input.id);
  const before = snapshotDefinition(definition);
  if (input.required != null) definition.required = input.required;
  if (input.description !== undefined) definition.description = checkOptionalText(input.description, ['input', 'description']);
  return inTransaction(ctx, async (em) => {
    em.persist(definition);
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
  const definition = await findScoped(ctx, CustomAttributeDefinition, 'custom_attribute', input.id);
  return inTransaction(ctx, async (em) => {
    await em.nativeDelete(CustomAttributeDefinition, { id: definition.id });
    await (em as SqlEntityManager).execute(
      `update "app_user" set "custom_attributes" = "custom_attributes" - ? where "environment_id" = ? and jsonb_exists("custom_attributes", ?)`,
      [definition.key, definition.environmentId, definition.key],
    );
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
  return findScoped(ctx, CustomAttributeDefinition, 'custom_attribute', id);
}
