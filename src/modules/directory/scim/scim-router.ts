import type { RequestMeta } from '../../../audit/audit-recorder.js';
import { AppError } from '../../../errors/app-error.js';
import { resourceTypes, schemas, serviceProviderConfig } from './scim-discovery.js';
import { etagMatches, scimError, scimNotFound, scimTypeOf } from './scim-errors.js';
import { createGroup, deleteGroup, groupResource, groupVersionOf, listGroups, patchGroup, readGroup, replaceGroup } from './scim-groups.service.js';
import { createUser, deleteUser, listUsers, patchUser, readUser, replaceUser, userResource, userResponseBody, type DirectoryRequestContext } from './scim-users.service.js';

/**
 * The SCIM 2.0 protocol of one authenticated directory, independent of any transport: a request
 * (method, path below the base URL, query, body) routed to the resource services and answered as
 * RFC 7644 says, every failure as its error JSON. The HTTP endpoint authenticates the bearer
 * token and meters the directory before it calls this; the provisioning simulator calls it with
 * the directory it was given.
 */

const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** Where an unexpected failure is reported. */
export interface ScimLogger {
  error(object: unknown, message: string): void;
  info(object: unknown, message: string): void;
}

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

/** RFC 7644 §3.12: every failure is this JSON, never text or HTML. */
export function scimErrorResponse(status: number, detail: string, scimType?: string | null, headers?: Record<string, string>): ScimResponse {
  return { status, headers, body: { schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail } };
}

/** The one serializer of this transport: an error as the SCIM error response. */
export function scimErrorOf(error: unknown, meta: RequestMeta, logger: ScimLogger): ScimResponse {
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

/** The query parameters, each given once. */
function singleParameters(query: Record<string, unknown>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(query)) {
    if (typeof value !== 'string') throw scimError('invalidValue', `The query parameter "${name.slice(0, 50)}" is given more than once`);
    out[name] = value;
  }
  return out;
}

export async function route(request: ScimRequest, context: DirectoryRequestContext): Promise<ScimResponse> {
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
