import type { MikroORM } from '@mikro-orm/core';
import type { AuditActor, AuditInput, RequestMeta } from '../../audit/audit-recorder.js';
import { addressKey, type FailedAuthLimiter } from '../../auth/failed-auth-limiter.js';
import { RateBudget } from '../../auth/rate-budget.js';
import { scopedFork, systemFork, tenantScope } from '../../db/tenant-scope.js';
import { AppError } from '../../errors/app-error.js';
import { authenticateDirectory, DirectoryAuthFailure, type AuthenticatedDirectory, type DirectoryAuthFailureReason } from '../../modules/directory/directory-auth.js';
import { DirectoryRequestErrorRepository } from '../../modules/directory/directory-request-error.repository.js';
import { directoryBaseUrl } from '../../modules/directory/directory-presets.js';
import { DirectoryRepository } from '../../modules/directory/directory.repository.js';
import { resourceTypes, schemas, serviceProviderConfig } from '../../modules/directory/scim/scim-discovery.js';
import { MAX_BULK_OPERATIONS, runBulk } from './scim-bulk.js';
import { etagMatches, scimError, scimNotFound, scimTypeOf } from '../../modules/directory/scim/scim-errors.js';
import { createGroup, deleteGroup, groupResource, groupVersionOf, listGroups, patchGroup, readGroup, replaceGroup } from '../../modules/directory/scim/scim-groups.service.js';
import { createUser, deleteUser, listUsers, patchUser, readUser, replaceUser, userResource, userResponseBody, type DirectoryRequestContext } from '../../modules/directory/scim/scim-users.service.js';

export const SCIM_CONTENT_TYPE = 'application/scim+json';
const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
/** A directory's `lastRequestAt` is written at most this often per process. */
const TOUCH_EVERY_MS = 60_000;
/** Refusals (401, 429) of one directory are kept among its recent errors at most this often per process. */
const NOTE_REFUSALS_EVERY_MS = 10_000;

/** A SCIM request, whatever carried it. */
export interface ScimRequest {
  method: string;
  directoryId: string;
  /** The path below the directory's base URL, split: [] for the base, ['Users', 'abc'] for /Users/abc. */
  path: string[];
  /** The query parameters as received: a repeated one is an array, refused. */
  query: Record<string, unknown>;
  authorization: string | undefined;
  /** `If-Match` and `If-None-Match` (RFC 7644 §3.14). */
  ifMatch: string | undefined;
  ifNoneMatch: string | undefined;
  body: unknown;
  meta: RequestMeta;
}

export interface ScimResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ScimHandlerOptions {
  orm: MikroORM;
  /** The public URL (known once the server listens, in tests). */
  publicUrl: () => string;
  requestsPerMinute: number;
  failedAuth: FailedAuthLimiter;
  /** Appends an anonymous failure's audit event within the environment's budget (AuditBatcher). */
  auditFailure: (actor: AuditActor, input: AuditInput) => Promise<void>;
  logger: { error(object: unknown, message: string): void };
}

/** RFC 7644 §3.12: every failure is this JSON, never text or HTML. */
export function scimErrorResponse(status: number, detail: string, scimType?: string | null, headers?: Record<string, string>): ScimResponse {
  return { status, headers, body: { schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail } };
}

/** The one serializer of this transport: an error as the SCIM error response. */
export function scimErrorOf(error: unknown, meta: RequestMeta, logger: ScimHandlerOptions['logger']): ScimResponse {
  if (error instanceof AppError && error.expose) {
    const headers: Record<string, string> = {};
    if (error.kind === 'UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer realm="gatehouse-scim"';
    const retryAfter = (error.detail as { retryAfter?: number } | undefined)?.retryAfter;
    if (error.kind === 'RATE_LIMITED' && retryAfter) headers['retry-after'] = String(retryAfter);
    return scimErrorResponse(error.status, error.message, scimTypeOf(error), headers);
  }
  logger.error({ err: error, requestId: meta.requestId }, 'SCIM request failed');
  return scimErrorResponse(500, `Internal server error (request id ${meta.requestId})`);
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
        // Each operation is a request of the directory's budget.
        const operations = (request.body as { Operations?: unknown } | undefined)?.Operations;
        const more = Array.isArray(operations) ? Math.min(operations.length, MAX_BULK_OPERATIONS) - 1 : 0;
        const wait = more > 0 ? await budget.take(directory.id, more) : 0;
        if (wait > 0) throw new AppError('RATE_LIMITED', 'scim.rate_limited', `This Bulk request would take the directory past ${options.requestsPerMinute} requests in a minute`, { detail: { retryAfter: wait } });
        response = await runBulk(request, async (operation) => {
          let result: ScimResponse;
          try {
            result = await route(operation, { ...context, em: scopedFork(options.orm, scope) });
          } catch (error) {
            result = scimErrorOf(error, operation.meta, options.logger);
          }
          await noteError(authenticated, operation, result);
          return result;
        });
      } else {
        response = await route(request, context);
      }
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

/** The query parameters, each given once. */
function singleParameters(query: Record<string, unknown>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(query)) {
    if (typeof value !== 'string') throw scimError('invalidValue', `The query parameter "${name.slice(0, 50)}" is given more than once`);
    out[name] = value;
  }
  return out;
}

async function route(request: ScimRequest, context: DirectoryRequestContext): Promise<ScimResponse> {
  const { baseUrl } = context;
  const [resource, id, ...rest] = request.path;
  const discovery = resource === 'ServiceProviderConfig' || resource === 'ResourceTypes' || resource === 'Schemas';
  if (discovery) {
    if (request.method !== 'GET') return scimErrorResponse(405, `${resource} is read-only`, null, { allow: 'GET' });
    if (rest.length || (resource === 'ServiceProviderConfig' && id !== undefined)) throw scimNotFound(`No such endpoint: /${request.path.join('/')}`);
    if (resource === 'ServiceProviderConfig') return { status: 200, body: serviceProviderConfig(baseUrl) };
    if (resource === 'ResourceTypes') return { status: 200, body: resourceTypes(baseUrl, id) };
    return { status: 200, body: schemas(baseUrl, id) };
  }
  if (resource === 'Users') return users(request, context, id, rest);
  if (resource === 'Groups') return groups(request, context, id, rest);
  throw scimNotFound(`No such endpoint: /${request.path.join('/').slice(0, 200)}`);
}

/** A resource in a response, with its version as the ETag header (and its URL as Location when made). */
function resourceResponse(status: number, resource: Record<string, unknown>): ScimResponse {
  const { version, location } = resource.meta as { version: string; location: string };
  return { status, body: resource, headers: status === 201 ? { location, etag: version } : { etag: version } };
}

/** A GET of one resource: 304 while `If-None-Match` names its version. */
function readResponse(request: ScimRequest, resource: Record<string, unknown>): ScimResponse {
  const version = (resource.meta as { version: string }).version;
  if (request.ifNoneMatch !== undefined && etagMatches(request.ifNoneMatch, version)) return { status: 304, headers: { etag: version } };
  return resourceResponse(200, resource);
}

const notAllowed = (methods: string) => scimErrorResponse(405, `Use ${methods.split(', ').join(' or ')} here`, null, { allow: methods });

/** /Users and /Users/<id>. */
async function users(request: ScimRequest, context: DirectoryRequestContext, id: string | undefined, rest: string[]): Promise<ScimResponse> {
  if (rest.length) throw scimNotFound(`No such endpoint: /${request.path.join('/').slice(0, 200)}`);
  if (id === undefined) {
    if (request.method === 'GET') return { status: 200, body: await listUsers(context, singleParameters(request.query)) };
    if (request.method === 'POST') return resourceResponse(201, userResource(await createUser(context, request.body), context.baseUrl));
    return notAllowed('GET, POST');
  }
  switch (request.method) {
    case 'GET':
      return readResponse(request, await readUser(context, id, singleParameters(request.query)));
    case 'PUT':
      return resourceResponse(200, await userResponseBody(context, await replaceUser(context, id, request.body, request.ifMatch)));
    case 'DELETE':
      await deleteUser(context, id, request.ifMatch);
      return { status: 204 };
    case 'PATCH':
      return resourceResponse(200, await userResponseBody(context, await patchUser(context, id, request.body, request.ifMatch)));
    default:
      return notAllowed('GET, PUT, PATCH, DELETE');
  }
}

/** /Groups and /Groups/<id>. A PATCH answers 204 unless `attributes` or `excludedAttributes` ask for the Group (RFC 7644 §3.5.2). */
async function groups(request: ScimRequest, context: DirectoryRequestContext, id: string | undefined, rest: string[]): Promise<ScimResponse> {
  if (rest.length) throw scimNotFound(`No such endpoint: /${request.path.join('/').slice(0, 200)}`);
  if (id === undefined) {
    if (request.method === 'GET') return { status: 200, body: await listGroups(context, singleParameters(request.query)) };
    if (request.method === 'POST') {
      const { group, members } = await createGroup(context, request.body);
      return resourceResponse(201, groupResource(group, context.baseUrl, members));
    }
    return notAllowed('GET, POST');
  }
  switch (request.method) {
    case 'GET':
      return readResponse(request, await readGroup(context, id, singleParameters(request.query)));
    case 'PUT': {
      const query = singleParameters(request.query);
      return resourceResponse(200, await readGroup(context, await replaceGroup(context, id, request.body, request.ifMatch), query));
    }
    case 'DELETE':
      await deleteGroup(context, id, request.ifMatch);
      return { status: 204 };
    case 'PATCH': {
      const query = singleParameters(request.query);
      const group = await patchGroup(context, id, request.body, request.ifMatch);
      if (query.attributes === undefined && query.excludedAttributes === undefined) return { status: 204, headers: { etag: groupVersionOf(group) } };
      return resourceResponse(200, await readGroup(context, group, query));
    }
    default:
      return notAllowed('GET, PUT, PATCH, DELETE');
  }
}
