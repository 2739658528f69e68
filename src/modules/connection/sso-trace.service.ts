import type { EntityManager } from '@mikro-orm/core';
import { requireScope } from '../../auth/principal.js';
import { newId } from '../../db/id.js';
import type { PageArgs } from '../../db/pagination.js';
import { OrganizationRepository } from '../organization/organization.repository.js';
import { environmentFor, type ServiceContext } from '../service-context.js';
import type { SsoConnection } from './connection.entity.js';
import { SsoConnectionRepository, SsoTraceRepository } from './connection.repository.js';
import { SsoTrace, SsoTraceOutcome } from './sso-trace.entity.js';

/** An IdP response is kept up to this size in a trace; a larger one is cut (and says so). */
export const MAX_TRACED_RESPONSE_CHARS = 64 * 1024;
/** What is kept of a response whose signature did not verify (or that never got that far). */
const MAX_UNVERIFIED_TRACED_CHARS = 4 * 1024;
/** Steps of one trace at most: a flow retried many times keeps its first ones. */
export const MAX_TRACE_STEPS = 30;
/** Claims that say nothing about the person and only help replay or correlation. */
const UNTRACED_CLAIMS = new Set(['nonce', 'at_hash', 'c_hash', 's_hash', 'sid', 'jti']);

/** How a hosted page records an attempt: which HTTP request it is and how long traces are kept. */
export interface TraceSettings {
  requestId: string;
  retentionMs: number;
}

/** A new attempt through `connection`; persisted with the caller's flush. */
export function openTrace(em: EntityManager, connection: SsoConnection, settings: TraceSettings, fields: { flowId?: string | null } = {}, now = new Date()): SsoTrace {
  const trace = newTrace(em, connection, settings, fields, now);
  em.persist(trace);
  return trace;
}

/** A new attempt through `connection`, not persisted: the caller writes it. */
export function newTrace(em: EntityManager, connection: SsoConnection, settings: TraceSettings, fields: { flowId?: string | null } = {}, now = new Date()): SsoTrace {
  return em.create(SsoTrace, {
    id: newId('ssoTrace'),
    environmentId: connection.environmentId,
    organizationId: connection.organizationId,
    connectionId: connection.id,
    protocol: connection.type,
    flowId: fields.flowId ?? null,
    requestIds: [settings.requestId],
    expiresAt: new Date(now.getTime() + settings.retentionMs),
  }, { persist: false });
}

/** The trace a pending request was opened with, or null (a deleted trace, or none). */
export function traceOf(em: EntityManager, id: string | null): Promise<SsoTrace | null> {
  return id ? new SsoTraceRepository(em).find(id) : Promise.resolve(null);
}

export function traceStep(trace: SsoTrace | null, requestId: string, step: string, ok: boolean, detail?: string | null, now = new Date()): void {
  if (!trace) return;
  if (!trace.requestIds.includes(requestId)) trace.requestIds = [...trace.requestIds, requestId];
  if (trace.steps.length >= MAX_TRACE_STEPS) return;
  trace.steps = [...trace.steps, stepOf(step, ok, detail, now)];
}

/** A step as `traceStep` appends it (for a repository that appends steps in SQL, up to MAX_TRACE_STEPS). */
export function stepOf(step: string, ok: boolean, detail?: string | null, now = new Date()): SsoTrace['steps'][number] {
  return { at: now.toISOString(), step, ok, ...(detail ? { detail: detail.slice(0, 1000) } : {}) };
}

export function failTrace(trace: SsoTrace | null, requestId: string, failure: { reason: string; detail: string | null }, now = new Date()): void {
  if (!trace) return;
  traceStep(trace, requestId, 'failed', false, `${failure.reason}${failure.detail ? `: ${failure.detail}` : ''}`, now);
  trace.outcome = SsoTraceOutcome.FAILED;
  trace.reason = failure.reason;
  trace.detail = failure.detail?.slice(0, 1000) ?? null;
}

export function succeedTrace(trace: SsoTrace | null, requestId: string, person: { userId: string; email: string }, now = new Date()): void {
  if (!trace) return;
  traceStep(trace, requestId, 'signed_in', true, person.email, now);
  trace.outcome = SsoTraceOutcome.SUCCEEDED;
  trace.userId = person.userId;
  trace.email = person.email;
}

/**
 * An IdP's SAML response as posted (base64), decoded for the trace: whole up to the size cap
 * once its signature verified, else only its first 4 KiB, enough to read its Issuer, status
 * and certificate; anyone can post to an ACS, and what they post is kept for the retention.
 */
export function tracedSamlResponse(base64: string | undefined, verified: boolean): string | null {
  if (!base64) return null;
  const cap = verified ? MAX_TRACED_RESPONSE_CHARS : MAX_UNVERIFIED_TRACED_CHARS;
  const xml = Buffer.from(base64.slice(0, Math.ceil((cap * 4) / 3) + 4), 'base64').toString('utf8');
  return xml.length > cap ? `${xml.slice(0, cap)}… (cut)` : xml;
}

/** OIDC claims for the trace, without those that only serve replay or correlation. */
export function tracedClaims(claims: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(claims).filter(([name]) => !UNTRACED_CLAIMS.has(name)));
}

// ── GraphQL ──

export async function getSsoTrace(ctx: ServiceContext, id: string): Promise<SsoTrace> {
  requireScope(ctx.principal, 'audit:read');
  return new SsoTraceRepository(ctx.em).get(id);
}

export interface SsoTraceFilter {
  environmentId?: string | null;
  organizationId?: string | null;
  connectionId?: string | null;
  outcome?: SsoTraceOutcome | null;
  /** The request id an error page showed. */
  requestId?: string | null;
}

/** Traces of a connection, an organization or an environment, newest first. Needs `audit:read`. */
export async function listSsoTraces(ctx: ServiceContext, filter: SsoTraceFilter, args: PageArgs, maxPageSize: number) {
  requireScope(ctx.principal, 'audit:read');
  const where: Record<string, unknown> = {};
  // The connection or organization is read through the caller's scope: another tenant's is NOT_FOUND.
  if (filter.connectionId) where.connectionId = (await new SsoConnectionRepository(ctx.em).get(filter.connectionId)).id;
  else if (filter.organizationId) where.organizationId = (await new OrganizationRepository(ctx.em).get(filter.organizationId)).id;
  else where.environmentId = environmentFor(ctx, filter.environmentId);
  if (filter.outcome) where.outcome = filter.outcome;
  if (filter.requestId) where.requestIds = { $contains: [filter.requestId.slice(0, 100)] };
  return new SsoTraceRepository(ctx.em).page(where, args, maxPageSize);
}
