import { LockMode, type EntityManager } from '@mikro-orm/core';
import { recordAudit, type RequestMeta } from '../../audit/audit-recorder.js';
import { requireScope } from '../../auth/principal.js';
import { ALL_SCOPES } from '../../auth/scopes.js';
import { mapDbError } from '../../db/db-errors.js';
import { newId } from '../../db/id.js';
import { AppError, forbidden, notFound } from '../../errors/app-error.js';
import { snapshotApiKey, issueApiKey } from '../api-key/api-key.service.js';
import { Environment, EnvironmentKind } from '../environment/environment.entity.js';
import { createEnvironmentRecord, snapshotEnvironment } from '../environment/environment.service.js';
import { audit, inTransaction, type ServiceContext } from '../service-context.js';
import { checkName, checkSlug } from '../validation.js';
import { Workspace } from './workspace.entity.js';

export const snapshotWorkspace = (workspace: Workspace) => ({ id: workspace.id, name: workspace.name, slug: workspace.slug });

export async function getWorkspace(ctx: ServiceContext): Promise<Workspace> {
  requireScope(ctx.principal, 'workspace:read');
  const workspace = await ctx.em.findOne(Workspace, { id: ctx.principal.workspaceId });
  if (!workspace) throw notFound('workspace', ctx.principal.workspaceId);
  return workspace;
}

export async function updateWorkspace(ctx: ServiceContext, input: { name?: string | null }): Promise<Workspace> {
  requireScope(ctx.principal, 'workspace:write');
  if (ctx.principal.environmentId) {
    throw forbidden('workspace.workspace_key_required', 'Only a workspace-wide API key can change the workspace');
  }
  const name = input.name != null ? checkName(input.name, ['input', 'name']) : undefined;
  return inTransaction(ctx, async (em) => {
    const workspace = await em.findOne(
      Workspace,
      { id: ctx.principal.workspaceId },
      { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
    );
    if (!workspace) throw notFound('workspace', ctx.principal.workspaceId);
    const before = snapshotWorkspace(workspace);
    if (name !== undefined) workspace.name = name;
    audit(ctx, em, {
      action: 'workspace.updated',
      targets: [{ type: 'workspace', id: workspace.id, name: workspace.name }],
      before,
      after: snapshotWorkspace(workspace),
    });
    return workspace;
  });
}

export interface BootstrappedWorkspace {
  workspace: Workspace;
  environments: Environment[];
  ownerKey: string;
}

/**
 * Creates a workspace with a development and a production environment and one owner key
 * (scope `*`). Used by `npm start` on an empty database and by the operator CLI.
 */
export async function bootstrapWorkspace(
  em: EntityManager,
  input: { name: string; slug: string },
  meta: RequestMeta,
): Promise<BootstrappedWorkspace> {
  const name = checkName(input.name, ['name']);
  const slug = checkSlug(input.slug, ['slug']);
  try {
    return await em.fork().transactional(async (tx) => {
      const workspace = tx.create(Workspace, { id: newId('workspace'), name, slug });
      tx.persist(workspace);
      const environments = [
        createEnvironmentRecord(tx, { workspaceId: workspace.id, name: 'Development', slug: 'development', kind: EnvironmentKind.DEVELOPMENT }),
        createEnvironmentRecord(tx, { workspaceId: workspace.id, name: 'Production', slug: 'production', kind: EnvironmentKind.PRODUCTION }),
      ];
      const { apiKey, secret } = issueApiKey(tx, {
        workspaceId: workspace.id,
        environmentId: null,
        environmentKind: null,
        name: 'Owner key',
        scopes: [ALL_SCOPES],
      });
      const actor = { principal: null, meta };
      recordAudit(tx, actor, {
        action: 'workspace.created',
        workspaceId: workspace.id,
        targets: [{ type: 'workspace', id: workspace.id, name }],
        after: snapshotWorkspace(workspace),
      });
      for (const environment of environments) {
        recordAudit(tx, actor, {
          action: 'environment.created',
          workspaceId: workspace.id,
          environmentId: environment.id,
          targets: [{ type: 'environment', id: environment.id, name: environment.name }],
          after: snapshotEnvironment(environment),
        });
      }
      recordAudit(tx, actor, {
        action: 'api_key.created',
        workspaceId: workspace.id,
        targets: [{ type: 'api_key', id: apiKey.id, name: apiKey.name }],
        after: snapshotApiKey(apiKey),
      });
      return { workspace, environments, ownerKey: secret };
    });
  } catch (error) {
    throw mapDbError(error);
  }
}

export const DEFAULT_WORKSPACE_SLUG = 'default';

/**
 * On an empty database, creates the default workspace and returns its owner key; otherwise
 * null. Safe when several processes start at once: the unique slug lets only one win.
 */
export async function ensureDefaultWorkspace(em: EntityManager, meta: RequestMeta): Promise<BootstrappedWorkspace | null> {
  if ((await em.fork().count(Workspace, {})) > 0) return null;
  try {
    return await bootstrapWorkspace(em, { name: 'Default workspace', slug: DEFAULT_WORKSPACE_SLUG }, meta);
  } catch (error) {
    if (error instanceof AppError && error.code === 'workspace.slug_taken') return null;
    throw error;
  }
}
