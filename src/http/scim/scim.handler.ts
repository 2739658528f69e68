import type { MikroORM } from '@mikro-orm/core';
import type { AuditActor, AuditInput } from '../../audit/audit-recorder.js';
import { addressKey, type FailedAuthLimiter } from '../../auth/failed-auth-limiter.js';
import { RateBudget } from '../../auth/rate-budget.js';
import { scopedFork, systemFork, tenantScope } from '../../db/tenant-scope.js';
import { AppError } from '../../errors/app-error.js';
import { authenticateDirectory, DirectoryAuthFailure, type AuthenticatedDirectory, type DirectoryAuthFailureReason } from '../../modules/directory/directory-auth.js';
import { DirectoryRequestErrorRepository } from '../../modules/directory/directory-request-error.repository.js';
import { directoryBaseUrl } from '../../modules/directory/directory-presets.js';
import { DirectoryRepository } from '../../modules/directory/directory.repository.js';
import { runBulk } from '../../modules/directory/scim/scim-bulk.js';
import { scimNotFound } from '../../modules/directory/scim/scim-errors.js';
import { route, scimErrorOf, scimErrorResponse, type ScimLogger, type ScimRequest, type ScimResponse } from '../../modules/directory/scim/scim-router.js';
import type { DirectoryRequestContext } from '../../modules/directory/scim/scim-users.service.js';

export { scimErrorResponse, type ScimRequest, type ScimResponse };

export const SCIM_CONTENT_TYPE = 'application/scim+json';
/** A directory's `lastRequestAt` is written at most this often per process. */
const TOUCH_EVERY_MS = 60_000;
/** Refusals (401, 429) of one directory are kept among its recent errors at most this often per process. */
const NOTE_REFUSALS_EVERY_MS = 10_000;

export interface ScimHandlerOptions {
  orm: MikroORM;
  /** The public URL (known once the server listens, in tests). */
  publicUrl: () => string;
  requestsPerMinute: number;
  failedAuth: FailedAuthLimiter;
  /** Appends an anonymous failure's audit event within the environment's budget (AuditBatcher). */
  auditFailure: (actor: AuditActor, input: AuditInput) => Promise<void>;
  logger: ScimLogger;
}

/**
 * The SCIM 2.0 server of every directory, independent of HTTP: authenticates the directory's
 * bearer token, holds each directory to its request budget, and routes the request.
 */
export function scimHandler(options: ScimHandlerOptions): (request: ScimRequest) => Promise<ScimResponse> {
  const budget = new RateBudget(options.requestsPerMinute);
  const touched = new Map<string, number>();
  const system = () => systemFork(options.orm, 'SCIM: finds the directory of a bearer token before its tenant is known');

  const notedAt = new Map<string, number>();
  /** A failed request of a known directory, kept for its recent errors; refusals (401, 429) at most once per directory and window, as anyone can cause them. */
  const noteError = async (known: AuthenticatedDirectory, request: ScimRequest, response: ScimResponse) => {
    if (response.status < 400) return;
    if (response.status === 401 || response.status === 429) {
      const now = Date.now();
      if (now - (notedAt.get(known.directory.id) ?? 0) < NOTE_REFUSALS_EVERY_MS) return;
      notedAt.set(known.directory.id, now);
      if (notedAt.size > 10_000) notedAt.clear();
    }
    const body = response.body as { scimType?: string; detail?: string } | undefined;
    try {
      await new DirectoryRequestErrorRepository(scopedFork(options.orm, tenantScope(known.workspaceId, [known.directory.environmentId]))).record({
        environmentId: known.directory.environmentId,
        directoryId: known.directory.id,
        method: request.method,
        path: `/${request.path.join('/')}`,
        status: response.status,
        scimType: body?.scimType ?? null,
        detail: body?.detail ?? '',
      });
    } catch (error) {
      options.logger.error({ err: error, requestId: request.meta.requestId }, 'could not keep a failed SCIM request');
    }
  };

  /** What the identity provider sent that needed reading kindly, for whoever tunes its mappings. */
  const logNormalized = (request: ScimRequest, context: DirectoryRequestContext) => {
    if (context.normalized?.length) options.logger.info({ requestId: request.meta.requestId, directoryId: context.directory.id, path: `/${request.path.join('/')}`, normalized: context.normalized }, 'SCIM input normalised');
  };

  return async (request) => {
    let known: AuthenticatedDirectory | null = null;
    let response: ScimResponse;
    try {
      let authenticated: AuthenticatedDirectory;
      try {
        authenticated = await authenticateDirectory(system(), request.directoryId, request.authorization);
      } catch (error) {
        if (error instanceof DirectoryAuthFailure) {
          known = error.found;
          if (known) await auditRefusal(options, request, known, error.reason);
        }
        // Past its budget of failures, an address gets 429 instead of 401.
        const blocked = error instanceof AppError && error.kind === 'UNAUTHENTICATED' ? await options.failedAuth.recordFailure(addressKey(request.meta.ip)) : 0;
        if (blocked > 0) throw new AppError('RATE_LIMITED', 'scim.rate_limited', 'Too many failed authentications; try again later', { detail: { retryAfter: blocked } });
        throw error;
      }
      known = authenticated;
      const { directory } = authenticated;
      const retryAfter = await budget.take(directory.id);
      if (retryAfter > 0) {
        throw new AppError('RATE_LIMITED', 'scim.rate_limited', `This directory made more than ${options.requestsPerMinute} requests in a minute`, { detail: { retryAfter } });
      }
      const now = Date.now();
      if (now - (touched.get(directory.id) ?? 0) >= TOUCH_EVERY_MS) {
        touched.set(directory.id, now);
        if (touched.size > 10_000) touched.clear();
        await new DirectoryRepository(system()).touch(directory.id, new Date(now));
      }
      const scope = tenantScope(authenticated.workspaceId, [directory.environmentId]);
      const context: DirectoryRequestContext = {
        em: scopedFork(options.orm, scope),
        directory,
        meta: request.meta,
        baseUrl: directoryBaseUrl(options.publicUrl(), directory.id),
        workspaceId: authenticated.workspaceId,
      };
      if (request.path[0] === 'Bulk') {
        if (request.path.length > 1) throw scimNotFound(`No such endpoint: /${request.path.join('/').slice(0, 200)}`);
        if (request.method !== 'POST') return scimErrorResponse(405, 'Use POST here', null, { allow: 'POST' });
        response = await runBulk(
          request,
          async (operation) => {
            const opContext = { ...context, em: scopedFork(options.orm, scope) };
            let result: ScimResponse;
            try {
              result = await route(operation, opContext);
            } catch (error) {
              result = scimErrorOf(error, operation.meta, options.logger);
            }
            logNormalized(operation, opContext);
            await noteError(authenticated, operation, result);
            return result;
          },
          async (operations) => {
            // The request itself took one unit.
            const wait = operations > 1 ? await budget.take(directory.id, operations - 1) : 0;
            if (wait > 0) throw new AppError('RATE_LIMITED', 'scim.rate_limited', `This Bulk request would take the directory past ${options.requestsPerMinute} requests in a minute`, { detail: { retryAfter: wait } });
          },
        );
      } else {
        response = await route(request, context);
      }
      logNormalized(request, context);
    } catch (error) {
      response = scimErrorOf(error, request.meta, options.logger);
    }
    if (known) await noteError(known, request, response);
    return response;
  };
}

/**
 * A refused request that named an existing directory: audited in its environment (within the
 * environment's budget of anonymous failures), never with the token presented.
 */
async function auditRefusal(options: ScimHandlerOptions, request: ScimRequest, known: AuthenticatedDirectory, reason: DirectoryAuthFailureReason): Promise<void> {
  try {
    await options.auditFailure(
      { principal: null, anonymous: true, meta: request.meta },
      {
        action: 'directory.authentication_failed',
        workspaceId: known.workspaceId,
        environmentId: known.directory.environmentId,
        organizationId: known.directory.organizationId,
        targets: [{ type: 'directory', id: known.directory.id, name: known.directory.name }],
        after: { reason, method: request.method, path: `/${request.path.join('/')}`.slice(0, 200) },
      },
    );
  } catch (error) {
    options.logger.error({ err: error, requestId: request.meta.requestId }, 'could not audit a refused SCIM request');
  }
}

