import { parse, type Filter } from 'scim2-parse-filter';
import { scimError } from './scim-errors.js';
import { resolveAttribute, resolveSubAttribute, type ResourceSchemas, type ScimAttribute } from './scim-schema.js';

export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
/** Operations of one PATCH, at most. */
export const MAX_PATCH_OPERATIONS = 100;

type Json = Record<string, unknown>;
type Op = 'add' | 'replace' | 'remove';

/** Where an operation's path points: an attribute (of the core schema or an extension), maybe a value filter, maybe a sub-attribute. */
interface Target {
  /** The extension URN the attribute is under, or null for the core schema. */
  extension: string | null;
  attribute: ScimAttribute;
  filter: Filter | null;
  sub: ScimAttribute | null;
  path: string;
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** One operation of a PATCH request, checked: its op in lower case, its path trimmed. */
export interface PatchOperation {
  op: Op;
  path: string | undefined;
  value: unknown;
  /** Its position, for errors: `Operations[2]`. */
  where: string;
}

/** The operations of a PatchOp message (RFC 7644 §3.5.2), or the SCIM error of what is wrong with it. */
export function patchOperations(body: unknown, normalized: string[] = []): PatchOperation[] {
  if (!isObject(body)) throw scimError('invalidSyntax', 'The body must be a JSON object (a PatchOp message)');
  const declared = body.schemas;
  if (!Array.isArray(declared) || !declared.some((urn) => typeof urn === 'string' && urn.toLowerCase() === PATCH_OP_SCHEMA.toLowerCase())) {
    throw scimError('invalidSyntax', `"schemas" must be ["${PATCH_OP_SCHEMA}"]`);
  }
  const operations = body.Operations ?? body.operations;
  if (!Array.isArray(operations) || operations.length === 0) throw scimError('invalidSyntax', '"Operations" must be a non-empty array');
  if (operations.length > MAX_PATCH_OPERATIONS) throw scimError('invalidValue', `At most ${MAX_PATCH_OPERATIONS} operations in one PATCH`);
  return operations.map((operation: unknown, index) => {
    const where = `Operations[${index}]`;
    if (!isObject(operation)) throw scimError('invalidSyntax', `${where} must be an object`);
    const op = String(operation.op ?? '').toLowerCase();
    if (op !== 'add' && op !== 'replace' && op !== 'remove') throw scimError('invalidSyntax', `${where}.op must be add, replace or remove`);
    if (operation.op !== op) normalized.push(`${where}.op: "${String(operation.op)}" read as ${op}`);
    const path = operation.path;
    if (path !== undefined && (typeof path !== 'string' || path.trim() === '')) throw scimError('invalidPath', `${where}.path must be a non-empty string`);
    if (path === undefined) {
      if (op === 'remove') throw scimError('noTarget', `${where}: remove needs a path`);
      if (!isObject(operation.value)) throw scimError('invalidValue', `${where}: without a path, the value must be an object of attributes`);
    }
    return { op, path: path?.trim(), value: operation.value, where };
  });
}

/**
 * The operations of a PATCH request (RFC 7644 §3.5.2, checked by `patchOperations`) applied in order to a resource's JSON (`current`: core attributes at
 * the top, an extension's under its URN, canonical names), returning the new JSON; nothing is
 * written until the caller has checked the whole result. Operation names in any case (Entra's
 * "Replace"); paths `attr`, `attr.sub`, `urn:…:attr`, `attr[filter]`, `attr[filter].sub`;
 * path-less `add`/`replace` with an object of paths (Okta's `{id, displayName}`, Entra's
 * `{"name.givenName": …}`). An `add` through a value filter that matches nothing adds the value
 * the filter describes (Entra adds `emails[type eq "work"].value` this way).
 */
export function applyOperations(current: Json, operations: readonly PatchOperation[], schemas: ResourceSchemas): Json {
  const resource = structuredClone(current);
  for (const { op, path, value } of operations) {
    if (path === undefined) {
      for (const [key, item] of Object.entries(value as Json)) {
        const extension = schemas.extensions.find((candidate) => candidate.id.toLowerCase() === key.toLowerCase());
        if (extension && isObject(item)) {
          for (const [sub, subValue] of Object.entries(item)) apply(resource, op, target(schemas, `${extension.id}:${sub}`), subValue);
        } else if (key.toLowerCase() === 'id' || key.toLowerCase() === 'meta' || key.toLowerCase() === 'schemas') {
          // Okta repeats the id (and some clients the schemas) beside the changes: nothing to change.
          continue;
        } else {
          apply(resource, op, target(schemas, key), item);
        }
      }
      continue;
    }
    apply(resource, op, target(schemas, path), value);
  }
  return resource;
}

/** The target of a path, or a SCIM invalidPath error. */
function target(schemas: ResourceSchemas, path: string): Target {
  if (path.length > 512) throw scimError('invalidPath', 'The path is longer than 512 characters');
  const open = path.indexOf('[');
  if (open === -1) {
    if (path.toLowerCase() === 'externalid') return { extension: null, attribute: EXTERNAL_ID, filter: null, sub: null, path };
    const resolved = resolveAttribute(schemas, path);
    if (!resolved) throw scimError('invalidPath', `Unknown attribute "${path.slice(0, 200)}"`);
    const extension = resolved.schema.id === schemas.core.id ? null : resolved.schema.id;
    if (resolved.parent) return { extension, attribute: resolved.parent, filter: null, sub: resolved.attribute, path };
    return { extension, attribute: resolved.attribute, filter: null, sub: null, path };
  }
  const close = path.lastIndexOf(']');
  if (close < open) throw scimError('invalidPath', `"${path.slice(0, 200)}" has no closing "]"`);
  const resolved = resolveAttribute(schemas, path.slice(0, open));
  if (!resolved || resolved.parent || resolved.attribute.type !== 'complex' || !resolved.attribute.multiValued) {
    throw scimError('invalidPath', `"${path.slice(0, open).slice(0, 200)}" is not a multi-valued complex attribute a value filter applies to`);
  }
  let filter: Filter;
  try {
    filter = parse(path.slice(open + 1, close));
  } catch {
    throw scimError('invalidPath', `The value filter of "${path.slice(0, 200)}" cannot be parsed`);
  }
  const rest = path.slice(close + 1);
  let sub: ScimAttribute | null = null;
  if (rest) {
    if (!rest.startsWith('.')) throw scimError('invalidPath', `Unexpected "${rest.slice(0, 100)}" after the value filter`);
    sub = resolveSubAttribute(resolved.attribute, rest.slice(1));
    if (!sub) throw scimError('invalidPath', `"${resolved.attribute.name}" has no sub-attribute "${rest.slice(1, 100)}"`);
  }
  return { extension: resolved.schema.id === schemas.core.id ? null : resolved.schema.id, attribute: resolved.attribute, filter, sub, path };
}

/** `externalId` is common to every resource: a string, settable by the client. */
const EXTERNAL_ID: ScimAttribute = { name: 'externalId', type: 'string', multiValued: false, description: '', required: false, caseExact: true, mutability: 'readWrite', returned: 'default', uniqueness: 'none' };

function apply(resource: Json, op: Op, to: Target, value: unknown): void {
  const written = to.sub ?? to.attribute;
  if (to.attribute.mutability === 'readOnly' || written.mutability === 'readOnly') throw scimError('mutability', `"${to.path.slice(0, 200)}" is read-only`);
  if (op === 'remove' && (to.attribute.required && !to.filter && !to.sub)) throw scimError('mutability', `"${to.attribute.name}" is required: it cannot be removed`);
  if (op !== 'remove' && value === undefined) throw scimError('invalidValue', `"${to.path.slice(0, 200)}": ${op} needs a value`);
  const container = to.extension ? ((resource[to.extension] as Json | undefined) ?? (op === 'remove' ? {} : (resource[to.extension] = {}))) : resource;
  const name = to.attribute.name;

  if (to.filter) {
    const values = Array.isArray(container[name]) ? (container[name] as unknown[]) : [];
    const matches = values.filter((item) => isObject(item) && matchesValue(item, to.filter!, to.attribute));
    if (op === 'remove') {
      if (!matches.length) return; // RFC 7644 §3.5.2.2: removing what is not there changes nothing
      if (to.sub) for (const item of matches) delete (item as Json)[to.sub.name];
      else container[name] = values.filter((item) => !matches.includes(item));
      return;
    }
    if (!matches.length) {
      if (op === 'replace' && !to.sub) throw scimError('noTarget', `No value of "${name}" matches the filter of "${to.path.slice(0, 200)}"`);
      // An add (or a replace of a sub-attribute) through a filter that matches nothing: the value the filter describes.
      const made = { ...equalitiesOf(to.filter), ...(to.sub ? { [to.sub.name]: value } : isObject(value) ? value : {}) };
      container[name] = [...values, made];
      return;
    }
    for (const item of matches) {
      if (to.sub) (item as Json)[to.sub.name] = value;
      else if (isObject(value)) Object.assign(item as Json, value);
      else throw scimError('invalidValue', `"${to.path.slice(0, 200)}": the value must be an object`);
    }
    return;
  }

  if (to.sub) {
    if (to.attribute.multiValued) {
      // `emails.value` without a filter: every value's sub-attribute.
      const values = Array.isArray(container[name]) ? (container[name] as Json[]) : [];
      for (const item of values) {
        if (op === 'remove') delete item[to.sub.name];
        else item[to.sub.name] = value;
      }
      return;
    }
    const parent = isObject(container[name]) ? (container[name] as Json) : op === 'remove' ? null : (container[name] = {});
    if (!parent) return;
    if (op === 'remove') delete parent[to.sub.name];
    else parent[to.sub.name] = value;
    return;
  }

  if (op === 'remove') {
    delete container[name];
    return;
  }
  if (to.attribute.multiValued && op === 'add') {
    const existing = Array.isArray(container[name]) ? (container[name] as unknown[]) : [];
    const added = Array.isArray(value) ? value : [value];
    container[name] = [...existing, ...added.filter((item) => !existing.some((old) => JSON.stringify(old) === JSON.stringify(item)))];
    return;
  }
  if (to.attribute.type === 'complex' && !to.attribute.multiValued && op === 'add' && isObject(value) && isObject(container[name])) {
    Object.assign(container[name] as Json, value);
    return;
  }
  container[name] = value;
}

/** Whether one value of a multi-valued attribute matches a value filter: sub-attributes by name in any case, strings as the schema compares them. */
function matchesValue(item: Json, filter: Filter, attribute: ScimAttribute): boolean {
  switch (filter.op) {
    case 'and':
      return filter.filters.every((part) => matchesValue(item, part, attribute));
    case 'or':
      return filter.filters.some((part) => matchesValue(item, part, attribute));
    case 'not':
      return !matchesValue(item, filter.filter, attribute);
    case '[]':
      throw scimError('invalidPath', 'A value filter cannot hold another one');
    default: {
      const sub = resolveSubAttribute(attribute, filter.attrPath);
      if (!sub) throw scimError('invalidPath', `"${attribute.name}" has no sub-attribute "${filter.attrPath.slice(0, 100)}"`);
      const actual = item[sub.name];
      if (filter.op === 'pr') return actual !== undefined && actual !== null && actual !== '';
      let expected: unknown = filter.compValue;
      let have: unknown = actual;
      if (sub.type === 'boolean' && typeof have === 'string') have = have.toLowerCase() === 'true';
      if (typeof have === 'string' && typeof expected === 'string' && !sub.caseExact) {
        have = have.toLowerCase();
        expected = expected.toLowerCase();
      }
      switch (filter.op) {
        case 'eq':
          return have === expected;
        case 'ne':
          return have !== expected;
        case 'co':
          return typeof have === 'string' && have.includes(String(expected));
        case 'sw':
          return typeof have === 'string' && have.startsWith(String(expected));
        case 'ew':
          return typeof have === 'string' && have.endsWith(String(expected));
        default:
          throw scimError('invalidPath', `A value filter of a PATCH path compares with eq, ne, co, sw, ew or pr, not ${filter.op}`);
      }
    }
  }
}

/** The sub-attribute values a filter fixes by `eq` (joined by `and`): what a value matching it must hold. */
function equalitiesOf(filter: Filter): Json {
  if (filter.op === 'eq') return { [filter.attrPath]: filter.compValue };
  if (filter.op === 'and') return Object.assign({}, ...filter.filters.map(equalitiesOf));
  return {};
}
