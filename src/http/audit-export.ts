import { Readable } from 'node:stream';
import type { MikroORM } from '@mikro-orm/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestMeta } from '../audit/audit-recorder.js';
import { openAuditExport, publicAuditEvent } from '../audit/audit.service.js';
import { scopeOfPrincipal, type Principal } from '../auth/principal.js';
import { scopedFork } from '../db/tenant-scope.js';
import { AppError, invalid, PUBLIC_CODE } from '../errors/app-error.js';

export interface AuditExportOptions {
  orm: MikroORM;
  requestMeta(request: FastifyRequest): RequestMeta;
  authenticate(authorization: string | undefined, meta: RequestMeta): Promise<Principal>;
}

function date(value: unknown, name: string): Date | null {
  if (value === undefined || value === '') return null;
  const parsed = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? new Date(value) : new Date(NaN);
  if (Number.isNaN(parsed.getTime())) throw invalid('audit.invalid_time', `"${name}" must be an ISO 8601 date-time`, [name]);
  return parsed;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** The transport's one error serializer: JSON with the same codes as GraphQL. */
function sendError(reply: FastifyReply, meta: RequestMeta, error: unknown) {
  if (error instanceof AppError && error.expose) {
    if (error.kind === 'UNAUTHENTICATED') reply.header('www-authenticate', 'Bearer realm="gatehouse"');
    return reply.code(error.status).send({ error: { code: PUBLIC_CODE[error.kind], reason: error.code, message: error.message, requestId: meta.requestId } });
  }
  reply.log.error({ err: error }, 'audit export failed');
  return reply.code(500).send({ error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error', requestId: meta.requestId } });
}

/**
 * `GET /audit/export` — the audit events the key may read, oldest first, as NDJSON (one event
 * per line, the same shape as GraphQL's AuditEvent), streamed: nothing is loaded whole.
 * Query: environmentId, from, to (ISO 8601, [from, to)), actions (comma-separated, `x.*`
 * allowed), actorId, targetId, organizationId. Needs `audit:read`.
 */
export async function auditExportPlugin(app: FastifyInstance, options: AuditExportOptions): Promise<void> {
  app.get('/audit/export', async (request, reply) => {
    const meta = options.requestMeta(request);
    const query = request.query as Record<string, unknown>;
    let events: AsyncGenerator<Parameters<typeof publicAuditEvent>[0]>;
    try {
      const principal = await options.authenticate(request.headers.authorization, meta);
      events = await openAuditExport(
        { em: scopedFork(options.orm, scopeOfPrincipal(principal)), principal, meta },
        {
          environmentId: text(query.environmentId),
          filter: {
            actions: text(query.actions)?.split(',').map((action) => action.trim()) ?? null,
            actorId: text(query.actorId),
            targetId: text(query.targetId),
            organizationId: text(query.organizationId),
            occurredAfter: date(query.from, 'from'),
            occurredBefore: date(query.to, 'to'),
          },
        },
      );
    } catch (error) {
      return sendError(reply, meta, error);
    }
    const lines = Readable.from(
      (async function* () {
        for await (const event of events) yield `${JSON.stringify(publicAuditEvent(event))}\n`;
      })(),
    );
    return reply
      .header('content-type', 'application/x-ndjson; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-disposition', 'attachment; filename="audit-events.ndjson"')
      .send(lines);
  });
}
