import type { EntityManager } from '@mikro-orm/core';
import type { Principal } from '../auth/principal.js';
import { newId } from '../db/id.js';
import { ActorType, AuditEvent, type AuditTarget } from './audit-event.entity.js';
import { redact, withoutNul } from './redact.js';

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
  /** An OAuth client that authenticated (token endpoint); takes the place of `principal`. */
  client?: { id: string; name: string };
  /** A person of the environment acting through the hosted pages. */
  user?: { id: string; email: string };
  /** An organization's identity provider, through its SCIM directory. */
  directory?: { id: string; name: string };
}

function actorOf(actor: AuditActor): Pick<AuditEvent, 'actorType' | 'actorId' | 'actorName'> {
  if (actor.principal) return { actorType: ActorType.API_KEY, actorId: actor.principal.apiKeyId, actorName: actor.principal.name };
  if (actor.user) return { actorType: ActorType.USER, actorId: actor.user.id, actorName: actor.user.email };
  if (actor.directory) return { actorType: ActorType.DIRECTORY, actorId: actor.directory.id, actorName: actor.directory.name };
  if (actor.client) return { actorType: ActorType.OAUTH_CLIENT, actorId: actor.client.id, actorName: actor.client.name };
  return { actorType: actor.anonymous ? ActorType.ANONYMOUS : ActorType.SYSTEM, actorId: null, actorName: null };
}

/** The row of an audit event, redacted; the chain columns are filled by the database. */
export function auditEventData(actor: AuditActor, input: AuditInput) {
  return {
    id: newId('auditEvent'),
    workspaceId: input.workspaceId,
    environmentId: input.environmentId ?? null,
    organizationId: input.organizationId ?? null,
    action: input.action,
    ...actorOf(actor),
    targets: redact(input.targets) as AuditTarget[],
    targetIds: input.targets.map((target) => withoutNul(target.id)),
    before: input.before ? (redact(input.before) as Record<string, unknown>) : null,
    after: input.after ? (redact(input.after) as Record<string, unknown>) : null,
    ip: actor.meta.ip,
    userAgent: actor.meta.userAgent && withoutNul(actor.meta.userAgent),
    requestId: actor.meta.requestId,
    occurredAt: new Date(),
  };
}

/**
 * Adds an audit event to the unit of work of `em`, so it commits (or rolls back) with the
 * change it describes. Call inside the same `em.transactional` as the change.
 */
export function recordAudit(em: EntityManager, actor: AuditActor, input: AuditInput): AuditEvent {
  const event = em.create(AuditEvent, auditEventData(actor, input));
  em.persist(event);
  return event;
}
