import type { EntityManager } from '@mikro-orm/core';
import { recordAudit, type RequestMeta } from '../../audit/audit-recorder.js';
import { requireScope } from '../../auth/principal.js';
import { ALL_SCOPES } from '../../auth/scopes.js';
import type { SecretBox } from '../../crypto/at-rest.js';
import { mapDbError } from '../../db/db-errors.js';
import { newId } from '../../db/id.js';
import { AppError, forbidden } from '../../errors/app-error.js';
import { snapshotApiKey, issueApiKey } from '../api-key/api-key.service.js';
import { EnvironmentKind, type Environment } from '../environment/environment.entity.js';
import { createEnvironmentRecord, snapshotEnvironment } from '../environment/environment.service.js';
import { audit, inTransaction, type ServiceContext } from '../service-context.js';
import { checkName, checkSlug } from '../validation.js';
import type { Workspace } from './workspace.entity.js';
import { WorkspaceRepository } from './workspace.repository.js';

export const snapshotWorkspace = (workspace: Workspace) => ({ id: workspace.id, name: workspace.name, slug: workspace.slug });

export async function getWorkspace(ctx: ServiceContext): Promise<Workspace> {
  requireScope(ctx.principal, 'workspace:read');
  return new WorkspaceRepository(ctx.em).get(ctx.principal.workspaceId);
}

export async function updateWorkspace(ctx: ServiceContext, input: { name?: string | null }): Promise<Workspace> {
  requireScope(ctx.principal, 'workspace:write');
  if (ctx.principal.environmentId) {
    throw forbidden('workspace.workspace_key_required', 'Only a workspace-wide API key can change the workspace');
  }
  const name = input.name != null ? checkName(input.name, ['input', 'name']) : undefined;
  return inTransaction(ctx, async (em) => {
    const workspace = await new WorkspaceRepository(em).lock(ctx.principal.workspaceId);
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
 * (scope `*`). Used by `npm start` on an empty database and by the operator CLI. Given the
 * master key's box, each environment gets its first signing key too (createEnvironmentRecord).
 * `em` must be a systemFork: the workspace does not exist before.
 */
export async function bootstrapWorkspace(
  em: EntityManager,
  input: { name: string; slug: string },
  meta: RequestMeta,
  box: SecretBox | null = null,
): Promise<BootstrappedWorkspace> {
  const name = checkName(input.name, ['name']);
  const slug = checkSlug(input.slug, ['slug']);
  try {
    return await em.fork().transactional(async (tx) => {
      const workspace = new WorkspaceRepository(tx).create({ id: newId('workspace'), name, slug });
      const environments = [
        await createEnvironmentRecord(tx, { workspaceId: workspace.id, name: 'Development', slug: 'development', kind: EnvironmentKind.DEVELOPMENT }, box),
        await createEnvironmentRecord(tx, { workspaceId: workspace.id, name: 'Production', slug: 'production', kind: EnvironmentKind.PRODUCTION }, box),
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
export async function ensureDefaultWorkspace(em: EntityManager, meta: RequestMeta, box: SecretBox | null = null): Promise<BootstrappedWorkspace | null> {
  if (await new WorkspaceRepository(em.fork()).any()) return null;
  try {
    return await bootstrapWorkspace(em, { name: 'Default workspace', slug: DEFAULT_WORKSPACE_SLUG }, meta, box);
  } catch (error) {
    if (error instanceof AppError && error.code === 'workspace.slug_taken') return null;
    throw error;
  }
}
