import type { FilterQuery } from '@mikro-orm/core';
import { requireScope } from '../auth/principal.js';
import { paginate, type PageArgs, type SortDirection } from '../db/pagination.js';
import { invalid, notFound } from '../errors/app-error.js';
import { environmentFor, type ServiceContext } from '../modules/service-context.js';
import { AuditEvent } from './audit-event.entity.js';
import { chainKeyOf, seqRangeOf, verifyChain, type ChainVerification } from './chain.js';

export interface AuditEventFilter {
  /** Exact actions, or prefixes written `organization.*`. */
  actions?: string[] | null;
  actorId?: string | null;
  targetId?: string | null;
  organizationId?: string | null;
  occurredAfter?: Date | null;
  occurredBefore?: Date | null;
}

const ACTION_PATTERN = /^[a-z_]+(\.[a-z_]+)?(\.\*)?$|^\*$/;

function actionCondition(actions: string[]): FilterQuery<AuditEvent> {
  const bad = actions.find((action) => !ACTION_PATTERN.test(action));
  // `!== undefined`: an empty string is a bad action too, not a pass.
  if (bad !== undefined) throw invalid('audit.invalid_action', `"${bad}" is not an action or an "x.*" prefix`, ['filter', 'actions']);
  if (actions.includes('*')) return {};
  const exact = actions.filter((action) => !action.endsWith('.*'));
  const prefixes = actions.filter((action) => action.endsWith('.*')).map((action) => action.slice(0, -1));
  const anyOf: FilterQuery<AuditEvent>[] = [];
  if (exact.length) anyOf.push({ action: { $in: exact } });
  for (const prefix of prefixes) anyOf.push({ action: { $like: `${prefix.replace(/_/g, '\\_')}%` } });
  return anyOf.length ? { $or: anyOf } : {};
}

/**
 * Events the caller may read: of one environment, or for a workspace-wide key without an
 * environment argument, the whole workspace (including workspace-level events).
 */
function scopeOf(ctx: ServiceContext, environmentId: string | null | undefined): FilterQuery<AuditEvent> {
  if (environmentId || ctx.principal.environmentId) {
    return { workspaceId: ctx.principal.workspaceId, environmentId: environmentFor(ctx, environmentId) };
  }
  return { workspaceId: ctx.principal.workspaceId };
}

export async function listAuditEvents(
  ctx: ServiceContext,
  query: { environmentId?: string | null; filter?: AuditEventFilter | null; direction: SortDirection },
  args: PageArgs,
  maxPageSize: number,
) {
  requireScope(ctx.principal, 'audit:read');
  const where: FilterQuery<AuditEvent>[] = [scopeOf(ctx, query.environmentId)];
  const filter = query.filter ?? {};
  if (filter.actions?.length) where.push(actionCondition(filter.actions));
  if (filter.actorId) where.push({ actorId: filter.actorId });
  if (filter.targetId) where.push({ targetIds: { $overlap: [filter.targetId] } });
  if (filter.organizationId) where.push({ organizationId: filter.organizationId });
  if (filter.occurredAfter) where.push({ occurredAt: { $gte: filter.occurredAfter } });
  if (filter.occurredBefore) where.push({ occurredAt: { $lt: filter.occurredBefore } });
  return paginate(ctx.em, AuditEvent, { $and: where }, { field: 'seq', direction: query.direction }, args, maxPageSize);
}

export async function getAuditEvent(ctx: ServiceContext, id: string): Promise<AuditEvent> {
  requireScope(ctx.principal, 'audit:read');
  const event = await ctx.em.findOne(AuditEvent, { id, workspaceId: ctx.principal.workspaceId });
  const visible =
    event && (ctx.principal.environmentId === null || event.environmentId === ctx.principal.environmentId);
  if (!event || !visible) throw notFound('audit_event', id);
  return event;
}

/**
 * Verifies the hash chain of an environment's events (or, for a workspace-wide key without an
 * environment, of the workspace-level events), optionally only those that occurred in [from, to).
 */
export async function verifyAuditChain(
  ctx: ServiceContext,
  query: { environmentId?: string | null; from?: Date | null; to?: Date | null },
): Promise<ChainVerification> {
  requireScope(ctx.principal, 'audit:read');
  const environmentId = query.environmentId || ctx.principal.environmentId ? environmentFor(ctx, query.environmentId) : null;
  const chainKey = chainKeyOf({ environmentId, workspaceId: ctx.principal.workspaceId });
  if (!query.from && !query.to) return verifyChain(ctx.em, chainKey);
  const range = await seqRangeOf(ctx.em, chainKey, query.from, query.to);
  if (range.empty) return { chainKey, eventsChecked: 0, firstBreak: null, headHash: null, headSeq: null };
  return verifyChain(ctx.em, chainKey, range);
}
