import type { EntityManager } from '@mikro-orm/core';
import { recordAudit, type AuditInput, type RequestMeta } from '../audit/audit-recorder.js';
import type { AuditEvent } from '../audit/audit-event.entity.js';
import { reachesEnvironment, type Principal } from '../auth/principal.js';
import { mapDbError } from '../db/db-errors.js';
import { invalid, notFound } from '../errors/app-error.js';

/** What every domain service call gets: a request-scoped EntityManager, the caller, where it came from. */
export interface ServiceContext {
  em: EntityManager;
  principal: Principal;
  meta: RequestMeta;
}

/**
 * The environment an operation acts in. Environment-pinned keys act in their own; workspace
 * keys must say which. An environment the caller cannot reach is reported as not found, so
 * ids of other tenants reveal nothing.
 */
export function environmentFor(ctx: ServiceContext, environmentId: string | null | undefined): string {
  if (environmentId) {
    if (!reachesEnvironment(ctx.principal, environmentId)) throw notFound('environment', environmentId);
    return environmentId;
  }
  if (ctx.principal.environmentId) return ctx.principal.environmentId;
  throw invalid(
    'environment.required',
    'environmentId is required: this API key is not pinned to one environment',
    ['environmentId'],
  );
}

/** Runs a change and its audit event in one transaction; constraint violations become domain errors. */
export async function inTransaction<T>(ctx: ServiceContext, work: (em: EntityManager) => Promise<T>): Promise<T> {
  try {
    return await ctx.em.transactional(work);
  } catch (error) {
    throw mapDbError(error);
  }
}

export function audit(ctx: ServiceContext, em: EntityManager, input: Omit<AuditInput, 'workspaceId'>): AuditEvent {
  return recordAudit(em, { principal: ctx.principal, meta: ctx.meta }, { ...input, workspaceId: ctx.principal.workspaceId });
}
