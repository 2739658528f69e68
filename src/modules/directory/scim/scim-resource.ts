import { scimError } from './scim-errors.js';
import { COMMON_ATTRIBUTES, resolveAttribute, type ResourceSchemas, type ScimAttribute, type ScimSchema } from './scim-schema.js';

/** A resource's stored JSON, at most (bytes of its normalised form). */
export const MAX_RESOURCE_BYTES = 64 * 1024;
/** Values of one multi-valued attribute, at most (members of a Group excepted: they are not stored in the resource). */
export const MAX_VALUES = 100;
const MAX_STRING_LENGTH = 4096;

/** What an incoming resource became: the attributes to store, and the notes of what was normalised on the way. */
export interface NormalizedResource {
  /** Core attributes at the top, an extension's under its URN; canonical names; no id, meta, schemas or writeOnly values. */
  attributes: Record<string, unknown>;
  /** The extensions present. */
  extensions: string[];
  /** What was normalised (Entra's "True", attribute names in another case…), for the log. */
  normalized: string[];
}

const byName = (attributes: readonly ScimAttribute[], name: string) => attributes.find((candidate) => candidate.name.toLowerCase() === name.toLowerCase());
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * An incoming resource (POST or PUT body) checked against its schemas and normalised: attribute
 * names matched case-insensitively and written canonically, string booleans ("True", "false")
 * made booleans, readOnly attributes and `id`/`meta` ignored (RFC 7643 §2.2), writeOnly ones
 * dropped (Gatehouse keeps no password), null meaning absent. Anything else that does not fit
 * the schema is a SCIM error naming it.
 */
export function normalizeResource(body: unknown, schemas: ResourceSchemas): NormalizedResource {
  if (!isObject(body)) throw scimError('invalidSyntax', 'The body must be a JSON object (a SCIM resource)');
  const normalized: string[] = [];
  const known = [schemas.core, ...schemas.extensions];
  const declared = body.schemas ?? body[Object.keys(body).find((key) => key.toLowerCase() === 'schemas') ?? 'schemas'];
  if (!Array.isArray(declared) || !declared.every((urn) => typeof urn === 'string')) throw scimError('invalidSyntax', '"schemas" must be an array of schema URNs');
  const declaredSchemas = declared.map((urn) => {
    const schema = known.find((candidate) => candidate.id.toLowerCase() === (urn as string).toLowerCase());
    if (!schema) throw scimError('invalidValue', `Unknown schema "${String(urn).slice(0, 200)}": ${known.map((candidate) => candidate.id).join(', ')} are served`);
    return schema;
  });
  if (!declaredSchemas.includes(schemas.core)) throw scimError('invalidValue', `"schemas" must include ${schemas.core.id}`);

  const attributes: Record<string, unknown> = {};
  const extensions = new Set<string>();
  for (const [key, value] of Object.entries(body)) {
    const lower = key.toLowerCase();
    if (lower === 'schemas' || lower === 'id' || lower === 'meta') continue;
    if (lower === 'externalid') {
      if (value !== null && typeof value !== 'string') throw scimError('invalidValue', '"externalId" must be a string');
      if (typeof value === 'string') attributes.externalId = checkString(value, 'externalId');
      continue;
    }
    const extension = schemas.extensions.find((candidate) => candidate.id.toLowerCase() === lower);
    if (extension) {
      if (value === null) continue;
      if (!isObject(value)) throw scimError('invalidValue', `"${extension.id}" must be an object of that extension's attributes`);
      const values = normalizeAttributes(value, extension, extension.id, normalized);
      if (Object.keys(values).length) {
        attributes[extension.id] = values;
        extensions.add(extension.id);
      }
      continue;
    }
    if (lower.startsWith('urn:')) {
      // An extension attribute written flat, `urn:…:User:department`: kept under its extension.
      const resolved = resolveAttribute(schemas, key);
      if (!resolved || resolved.parent || resolved.schema === schemas.core) throw scimError('invalidSyntax', `Unknown attribute "${key.slice(0, 200)}"`);
      const container = (attributes[resolved.schema.id] ??= {}) as Record<string, unknown>;
      const checked = normalizeValue(resolved.attribute, value, key, normalized);
      if (checked !== undefined) container[resolved.attribute.name] = checked;
      extensions.add(resolved.schema.id);
      normalized.push(`${key}: written under ${resolved.schema.id}`);
      continue;
    }
    const attribute = byName(schemas.core.attributes, key);
    if (!attribute) throw scimError('invalidSyntax', `Unknown attribute "${key.slice(0, 200)}" of ${schemas.core.id}`);
    if (attribute.name !== key) normalized.push(`${key}: named ${attribute.name}`);
    if (attribute.mutability === 'readOnly' || attribute.mutability === 'writeOnly') continue;
    const checked = normalizeValue(attribute, value, attribute.name, normalized);
    if (checked !== undefined) attributes[attribute.name] = checked;
  }
  for (const attribute of schemas.core.attributes) {
    if (attribute.required && attributes[attribute.name] === undefined) throw scimError('invalidValue', `"${attribute.name}" is required`);
  }
  if (Buffer.byteLength(JSON.stringify(attributes)) > MAX_RESOURCE_BYTES) throw scimError('invalidValue', `The resource is larger than ${MAX_RESOURCE_BYTES} bytes`);
  return { attributes, extensions: [...extensions], normalized };
}

function normalizeAttributes(value: Record<string, unknown>, schema: ScimSchema, path: string, normalized: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const attribute = byName(schema.attributes, key);
    if (!attribute) throw scimError('invalidSyntax', `Unknown attribute "${key.slice(0, 200)}" of ${schema.id}`);
    if (attribute.mutability === 'readOnly' || attribute.mutability === 'writeOnly') continue;
    const checked = normalizeValue(attribute, item, `${path}:${attribute.name}`, normalized);
    if (checked !== undefined) out[attribute.name] = checked;
  }
  return out;
}

/** A value of `attribute` as stored, undefined for "absent", or a SCIM error. */
export function normalizeValue(attribute: ScimAttribute, value: unknown, path: string, normalized: string[]): unknown {
  if (value === null) return undefined;
  if (attribute.multiValued) {
    const values = Array.isArray(value) ? value : [value];
    if (!Array.isArray(value)) normalized.push(`${path}: a single value made a list`);
    if (values.length > MAX_VALUES) throw scimError('invalidValue', `"${path}" has more than ${MAX_VALUES} values`);
    const items = values.map((item, index) => normalizeSingle(attribute, item, `${path}[${index}]`, normalized)).filter((item) => item !== undefined);
    return items.length ? items : undefined;
  }
  return normalizeSingle(attribute, value, path, normalized);
}

function normalizeSingle(attribute: ScimAttribute, value: unknown, path: string, normalized: string[]): unknown {
  if (value === null) return undefined;
  switch (attribute.type) {
    case 'complex': {
      if (!isObject(value)) throw scimError('invalidValue', `"${path}" must be an object`);
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        const sub = attribute.subAttributes && byName(attribute.subAttributes, key);
        if (!sub) throw scimError('invalidSyntax', `Unknown attribute "${path}.${key.slice(0, 100)}"`);
        if (sub.mutability === 'readOnly') continue;
        const checked = normalizeSingle(sub, item, `${path}.${sub.name}`, normalized);
        if (checked !== undefined) out[sub.name] = checked;
      }
      return Object.keys(out).length ? out : undefined;
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) {
        normalized.push(`${path}: "${value}" read as a boolean`);
        return value.toLowerCase() === 'true';
      }
      throw scimError('invalidValue', `"${path}" must be a boolean`);
    case 'integer':
      if (Number.isInteger(value)) return value;
      throw scimError('invalidValue', `"${path}" must be an integer`);
    case 'decimal':
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      throw scimError('invalidValue', `"${path}" must be a number`);
    case 'dateTime':
      if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
      throw scimError('invalidValue', `"${path}" must be a date and time (RFC 3339)`);
    default:
      if (typeof value !== 'string') throw scimError('invalidValue', `"${path}" must be a string`);
      return checkString(value, path);
  }
}

function checkString(value: string, path: string): string {
  if (value.length > MAX_STRING_LENGTH) throw scimError('invalidValue', `"${path}" is longer than ${MAX_STRING_LENGTH} characters`);
  if (value.includes('\u0000')) throw scimError('invalidValue', `"${path}" holds a NUL character`);
  return value;
}

/**
 * Which attributes a response carries (RFC 7644 §3.9): `attributes` names the ones wanted
 * (plus those always returned), `excludedAttributes` the ones not wanted; both are comma lists
 * of attribute paths, case-insensitive. Top-level attributes and their sub-attributes.
 */
export interface Projection {
  include: Set<string> | null;
  exclude: Set<string>;
}

export function parseProjection(schemas: ResourceSchemas, attributes: string | undefined, excluded: string | undefined): Projection {
  const paths = (text: string | undefined, name: string) => {
    const out = new Set<string>();
    for (const part of (text ?? '').split(',').map((item) => item.trim()).filter(Boolean)) {
      const resolved = resolveAttribute(schemas, part);
      if (!resolved) throw scimError('invalidValue', `"${name}" names an unknown attribute "${part.slice(0, 200)}"`);
      out.add(pathKey(resolved.schema.id === schemas.core.id ? null : resolved.schema.id, resolved.path));
    }
    return out;
  };
  const include = attributes !== undefined && attributes.trim() !== '' ? paths(attributes, 'attributes') : null;
  return { include, exclude: paths(excluded, 'excludedAttributes') };
}

const pathKey = (extension: string | null, path: string[]) => `${extension ? `${extension}:` : ''}${path.join('.')}`.toLowerCase();

/** Whether a response under `projection` carries the core attribute `name` (to skip reading what it would drop). */
export function isReturned(projection: Projection, name: string): boolean {
  const key = name.toLowerCase();
  if (projection.exclude.has(key)) return false;
  return !projection.include || projection.include.has(key) || [...projection.include].some((wanted) => wanted.startsWith(`${key}.`));
}

/** Attributes that are in every response whatever is asked (`returned: always`). */
const ALWAYS = new Set(COMMON_ATTRIBUTES.filter((attribute) => attribute.returned === 'always').map((attribute) => attribute.name.toLowerCase()));

/** `resource` (its top-level attributes and extension objects) cut down to a projection; `schemas`, `id` and `meta` stay. */
export function project(resource: Record<string, unknown>, projection: Projection, schemas: ResourceSchemas): Record<string, unknown> {
  if (!projection.include && !projection.exclude.size) return resource;
  const keep = (extension: string | null, name: string, sub?: string): boolean => {
    const key = pathKey(extension, sub ? [name, sub] : [name]);
    const top = pathKey(extension, [name]);
    if (!extension && (ALWAYS.has(name.toLowerCase()) || name === 'schemas' || name === 'meta')) return true;
    if (projection.exclude.has(key) || (sub && projection.exclude.has(top))) return false;
    if (!projection.include) return true;
    return projection.include.has(key) || projection.include.has(top) || (!sub && [...projection.include].some((wanted) => wanted.startsWith(`${top}.`)));
  };
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(resource)) {
    const extension = schemas.extensions.find((candidate) => candidate.id === name);
    if (extension && isObject(value)) {
      const kept = Object.fromEntries(Object.entries(value).filter(([sub]) => keep(extension.id, sub)));
      if (Object.keys(kept).length) out[name] = kept;
      continue;
    }
    if (!keep(null, name)) continue;
    const attribute = byName(schemas.core.attributes, name);
    if (attribute?.type === 'complex' && !attribute.multiValued && isObject(value)) {
      const kept = Object.fromEntries(Object.entries(value).filter(([sub]) => keep(null, name, sub)));
      if (Object.keys(kept).length) out[name] = kept;
      continue;
    }
    out[name] = value;
  }
  return out;
}
