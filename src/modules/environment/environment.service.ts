import type { EntityManager } from '@mikro-orm/core';
import { requireScope } from '../../auth/principal.js';
import { newId } from '../../db/id.js';
import { paginate, type PageArgs } from '../../db/pagination.js';
import { forbidden, invalid, notFound } from '../../errors/app-error.js';
import { seedBuiltInRoles } from '../role/builtin-roles.js';
import { audit, inTransaction, type ServiceContext } from '../service-context.js';
import { checkName, checkSlug } from '../validation.js';
import { Environment, EnvironmentKind } from './environment.entity.js';

export const snapshotEnvironment = (env: Environment) => ({ id: env.id, name: env.name, slug: env.slug, kind: env.kind });

/** Creates an environment with its built-in roles inside the caller's transaction. */
export function createEnvironmentRecord(
  em: EntityManager,
  values: { workspaceId: string; name: string; slug: string; kind: EnvironmentKind },
): Environment {
  const environment = em.create(Environment, { id: newId('environment'), ...values });
  em.persist(environment);
  seedBuiltInRoles(em, environment.id);
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
  const environment = await ctx.em.findOne(Environment, { id, workspaceId: ctx.principal.workspaceId });
  if (!environment) throw notFound('environment', id);
  return environment;
}

export async function listEnvironments(ctx: ServiceContext, args: PageArgs, maxPageSize: number) {
  requireScope(ctx.principal, 'environments:read');
  return paginate(
    ctx.em,
    Environment,
    { workspaceId: ctx.principal.workspaceId, id: { $in: [...ctx.principal.environmentIds] } },
    { field: 'createdAt', direction: 'ASC' },
    args,
    maxPageSize,
  );
}

export async function createEnvironment(
  ctx: ServiceContext,
  input: { name: string; slug: string; kind: EnvironmentKind },
): Promise<Environment> {
  requireScope(ctx.principal, 'environments:write');
  requireWorkspaceKey(ctx);
  const name = checkName(input.name, ['input', 'name']);
  const slug = checkSlug(input.slug, ['input', 'slug']);
  return inTransaction(ctx, async (em) => {
    const environment = createEnvironmentRecord(em, { workspaceId: ctx.principal.workspaceId, name, slug, kind: input.kind });
    audit(ctx, em, {
      action: 'environment.created',
      environmentId: environment.id,
      targets: [{ type: 'environment', id: environment.id, name }],
      after: snapshotEnvironment(environment),
    });
    return environment;
  });
}

export async function updateEnvironment(ctx: ServiceContext, input: { id: string; name?: string | null }): Promise<Environment> {
  requireScope(ctx.principal, 'environments:write');
  requireWorkspaceKey(ctx);
  const environment = await getEnvironment(ctx, input.id);
  const before = snapshotEnvironment(environment);
  if (input.name != null) environment.name = checkName(input.name, ['input', 'name']);
  return inTransaction(ctx, async (em) => {
    em.persist(environment);
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

/** Deletes an environment and, by cascade, all of its tenant data. The audit trail stays. */
export async function deleteEnvironment(ctx: ServiceContext, input: { id: string }): Promise<string> {
  requireScope(ctx.principal, 'environments:write');
  requireWorkspaceKey(ctx);
  const environment = await getEnvironment(ctx, input.id);
  if (ctx.principal.environmentIds.length <= 1) {
    throw invalid('environment.last', 'A workspace keeps at least one environment', ['input', 'id']);
  }
  return inTransaction(ctx, async (em) => {
    await em.nativeDelete(Environment, { id: environment.id });
    audit(ctx, em, {
      action: 'environment.deleted',
      environmentId: environment.id,
      targets: [{ type: 'environment', id: environment.id, name: environment.name }],
      before: snapshotEnvironment(environment),
    });
    return environment.id;
  });
}
