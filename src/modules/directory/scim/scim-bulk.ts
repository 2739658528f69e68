import { MAX_BULK_OPERATIONS } from './scim-discovery.js';
import { scimError } from './scim-errors.js';
import type { ScimRequest, ScimResponse } from './scim-router.js';

export const BULK_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const BULK_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
export { MAX_BULK_OPERATIONS };

const BULK_ID = /^bulkId:(.+)$/;
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

interface BulkOperation {
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  bulkId?: string;
  version?: string;
  path: string;
  data?: unknown;
}

/** The operations of a BulkRequest (RFC 7644 §3.7), checked, or the error of the whole request. */
function operationsOf(body: unknown): { operations: BulkOperation[]; failOnErrors: number } {
  if (!isObject(body)) throw scimError('invalidSyntax', 'The body must be a JSON object (a BulkRequest message)');
  if (!Array.isArray(body.schemas) || !body.schemas.some((urn) => typeof urn === 'string' && urn.toLowerCase() === BULK_REQUEST_SCHEMA.toLowerCase())) {
    throw scimError('invalidSyntax', `"schemas" must be ["${BULK_REQUEST_SCHEMA}"]`);
  }
  const failOnErrors = body.failOnErrors ?? Number.POSITIVE_INFINITY;
  if (failOnErrors !== Number.POSITIVE_INFINITY && (!Number.isInteger(failOnErrors) || (failOnErrors as number) < 1)) {
    throw scimError('invalidValue', '"failOnErrors" must be a positive integer');
  }
  const operations = body.Operations ?? body.operations;
  if (!Array.isArray(operations) || !operations.length) throw scimError('invalidSyntax', '"Operations" must be a non-empty array');
  if (operations.length > MAX_BULK_OPERATIONS) throw scimError('tooMany', `At most ${MAX_BULK_OPERATIONS} operations in one Bulk request`, 'PAYLOAD_TOO_LARGE');
  const bulkIds = new Set<string>();
  const checked = operations.map((operation: unknown, index): BulkOperation => {
    const where = `Operations[${index}]`;
    if (!isObject(operation)) throw scimError('invalidSyntax', `${where} must be an object`);
    const method = String(operation.method ?? '').toUpperCase();
    if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH' && method !== 'DELETE') throw scimError('invalidValue', `${where}.method must be POST, PUT, PATCH or DELETE`);
    const { path, bulkId, version } = operation;
    if (typeof path !== 'string' || !/^\/(Users|Groups)(\/[^/]+)?$/.test(path)) throw scimError('invalidPath', `${where}.path must be /Users, /Groups or one of their resources`);
    const named = /^\/(Users|Groups)\/./.test(path);
    if (method === 'POST' && named) throw scimError('invalidPath', `${where}: POST goes to /Users or /Groups`);
    if (method !== 'POST' && !named) throw scimError('invalidPath', `${where}: ${method} names a resource (/Users/<id>)`);
    if (bulkId !== undefined) {
      if (typeof bulkId !== 'string' || !bulkId || bulkId.length > 100) throw scimError('invalidValue', `${where}.bulkId must be a string of 1–100 characters`);
      if (bulkIds.has(bulkId)) throw scimError('invalidValue', `${where}.bulkId "${bulkId}" is used twice`);
      bulkIds.add(bulkId);
    }
    if (method === 'POST' && bulkId === undefined) throw scimError('invalidValue', `${where}: a POST needs a bulkId`);
    if (version !== undefined && typeof version !== 'string') throw scimError('invalidValue', `${where}.version must be a string`);
    if (method !== 'DELETE' && operation.data === undefined) throw scimError('invalidValue', `${where}: ${method} needs data`);
    return { method, path, bulkId: bulkId as string | undefined, version: version as string | undefined, data: operation.data };
  });
  return { operations: checked, failOnErrors: failOnErrors as number };
}

/** The bulkIds a value refers to (`"bulkId:<id>"` strings anywhere in it). */
function referencesOf(value: unknown, into = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    const match = BULK_ID.exec(value);
    if (match) into.add(match[1]!);
  } else if (Array.isArray(value)) value.forEach((item) => referencesOf(item, into));
  else if (isObject(value)) Object.values(value).forEach((item) => referencesOf(item, into));
  return into;
}

/** `value` with every `"bulkId:<id>"` string replaced by the id its POST made. */
function resolve(value: unknown, ids: Map<string, string>): unknown {
  if (typeof value === 'string') {
    const match = BULK_ID.exec(value);
    return match ? (ids.get(match[1]!) ?? value) : value;
  }
  if (Array.isArray(value)) return value.map((item) => resolve(item, ids));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolve(item, ids)]));
  return value;
}

/**
 * POST /Bulk: each operation run as its own request (RFC 7644 §3.7: a Bulk request is not
 * atomic), with `bulkId:` references resolved to the ids their POSTs made, whatever the order
 * (an operation waits for the ones it refers to; one whose reference never resolves fails with
 * 409), stopping after `failOnErrors` errors. The results say each operation's status, its
 * resource's location and version, or its SCIM error.
 */
export async function runBulk(request: ScimRequest, run: (request: ScimRequest) => Promise<ScimResponse>, charge: (operations: number) => Promise<void>): Promise<ScimResponse> {
  const { operations, failOnErrors } = operationsOf(request.body);
  // Each operation is a request of the directory's budget: charged once they are counted, before any runs.
  await charge(operations.length);
  const ids = new Map<string, string>();
  const failed = new Set<string>();
  const results: Record<string, unknown>[] = new Array(operations.length);
  // A path refers by its last segment: /Groups/bulkId:team.
  const segmentsOf = (path: string) => path.split('/').filter(Boolean);
  let pending = operations.map((operation, index) => ({ operation, index, references: referencesOf([segmentsOf(operation.path), operation.data]) }));
  let errors = 0;
  while (pending.length && errors < failOnErrors) {
    // The first operation whose references are all settled; none when what is left refers in a circle or to bulkIds no operation has.
    const next = pending.find((item) => [...item.references].every((id) => ids.has(id) || failed.has(id)));
    if (!next) break;
    pending = pending.filter((item) => item !== next);
    const { operation } = next;
    const unresolved = [...next.references].find((id) => failed.has(id));
    let response: ScimResponse;
    if (unresolved !== undefined) {
      response = { status: 409, body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '409', scimType: 'invalidValue', detail: `bulkId "${unresolved.slice(0, 100)}" refers to an operation that failed` } };
    } else {
      response = await run({
        ...request,
        method: operation.method,
        path: resolve(segmentsOf(operation.path), ids) as string[],
        query: {},
        ifMatch: operation.version,
        ifNoneMatch: undefined,
        body: resolve(operation.data, ids),
      });
    }
    const ok = response.status < 400;
    const resource = ok && isObject(response.body) ? (response.body.meta as { location?: string; version?: string } | undefined) : undefined;
    if (operation.bulkId !== undefined) {
      if (ok && isObject(response.body) && typeof response.body.id === 'string') ids.set(operation.bulkId, response.body.id);
      // A PUT, PATCH or DELETE that succeeded made nothing to refer to; only a failure fails what refers to it.
      else if (!ok) failed.add(operation.bulkId);
    }
    if (!ok) errors += 1;
    results[next.index] = {
      method: operation.method,
      ...(operation.bulkId !== undefined ? { bulkId: operation.bulkId } : {}),
      ...(resource?.location ? { location: resource.location } : {}),
      ...(resource?.version ?? response.headers?.etag ? { version: resource?.version ?? response.headers?.etag } : {}),
      status: String(response.status),
      ...(ok ? {} : { response: response.body }),
    };
  }
  for (const item of pending) {
    if (errors >= failOnErrors) break;
    // Left over without failOnErrors reached: their references never resolved.
    results[item.index] = {
      method: item.operation.method,
      ...(item.operation.bulkId !== undefined ? { bulkId: item.operation.bulkId } : {}),
      status: '409',
      response: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '409', scimType: 'invalidValue', detail: 'Its bulkId references cannot be resolved (unknown, or circular)' },
    };
  }
  return { status: 200, body: { schemas: [BULK_RESPONSE_SCHEMA], Operations: results.filter(Boolean) } };
}
