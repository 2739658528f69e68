import type { EntityManager } from '@mikro-orm/core';
import type { Principal } from '../auth/principal.js';
import { newId } from '../db/id.js';
import { ActorType, AuditEvent, type AuditTarget } from './audit-event.entity.js';
import { redact } from './redact.js';

/** Where a request came from; stamped on every audit event it causes. */
export interface RequestMeta {
  requestId: string;
  ip: string | null;
  userAgent: string | null;
}

export interface AuditInput {
  action: string;
  workspaceId: string | null;
  environmentId?: string | null;
  organizationId?: string | null;
  targets: AuditTarget[];
  before?: object | null;
  after?: object | null;
}

export interface AuditActor {
  /** Null for Gatehouse itself, or for an unauthenticated caller when `anonymous` is set. */
  principal: Principal | null;
  meta: RequestMeta;
  anonymous?: boolean;
}

/**
 * Adds an audit event to the unit of work of `em`, so it commits (or rolls back) with the
 * change it describes. Call inside the same `em.transactional` as the change.
 */
export function recordAudit(em: EntityManager, actor: AuditActor, input: AuditInput): AuditEvent {
  const event = em.create(AuditEvent, {
    id: newId('auditEvent'),
    workspaceId: input.workspaceId,
    environmentId: input.environmentId ?? null,
    organizationId: input.organizationId ?? null,
    action: input.action,
    actorType: actor.principal ? ActorType.API_KEY : actor.anonymous ? ActorType.ANONYMOUS : ActorType.SYSTEM,
    actorId: actor.principal?.apiKeyId ?? null,
    actorName: actor.principal?.name ?? null,
    targets: input.targets,
    targetIds: input.targets.map((target) => target.id),
    before: input.before ? (redact(input.before) as Record<string, unknown>) : null,
    after: input.after ? (redact(input.after) as Record<string, unknown>) : null,
    ip: actor.meta.ip,
    userAgent: actor.meta.userAgent,
    requestId: actor.meta.requestId,
    occurredAt: new Date(),
  });
  em.persist(event);
  return event;
}
