import { invalid } from '../../errors/app-error.js';
import { CustomAttributeType, type CustomAttributeDefinition } from './user.entity.js';

const MAX_STRING = 2048;

function coerce(definition: CustomAttributeDefinition, value: unknown, field: string[]): unknown {
  const wrongType = () =>
    invalid('user.invalid_attribute', `"${definition.key}" must be a ${definition.type.toLowerCase()}`, field);
  switch (definition.type) {
    case CustomAttributeType.STRING:
      if (typeof value !== 'string') throw wrongType();
      if (value.length > MAX_STRING) {
        throw invalid('user.invalid_attribute', `"${definition.key}" is longer than ${MAX_STRING} characters`, field);
      }
      return value;
    case CustomAttributeType.NUMBER:
      if (typeof value !== 'number' || !Number.isFinite(value)) throw wrongType();
      return value;
    case CustomAttributeType.BOOLEAN:
      if (typeof value !== 'boolean') throw wrongType();
      return value;
    case CustomAttributeType.DATETIME: {
      // ISO 8601 with a time zone, stored normalised to UTC.
      if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
        throw invalid('user.invalid_attribute', `"${definition.key}" must be an ISO 8601 date-time with a time zone`, field);
      }
      const date = new Date(value);
      if (Number.isNaN(date.getTime())) throw wrongType();
      return date.toISOString();
    }
  }
}

/**
 * Applies `changes` to `current` and checks the result against the environment's
 * definitions: no unknown keys, right types. A `null` value removes an attribute. A new user
 * must have every required attribute; an existing one may not remove one, but a definition
 * made required later does not block unrelated updates of users who predate it.
 */
export function applyCustomAttributes(
  definitions: CustomAttributeDefinition[],
  current: Record<string, unknown>,
  changes: unknown,
  field: string[],
  mode: 'create' | 'update',
): Record<string, unknown> {
  if (changes != null && (typeof changes !== 'object' || Array.isArray(changes))) {
    throw invalid('user.invalid_attributes', 'customAttributes must be a JSON object', field);
  }
  const byKey = new Map(definitions.map((definition) => [definition.key, definition]));
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(current)) if (byKey.has(key)) result[key] = value;
  for (const [key, value] of Object.entries((changes ?? {}) as Record<string, unknown>)) {
    const definition = byKey.get(key);
    if (!definition) throw invalid('user.unknown_attribute', `No custom attribute "${key}" is defined`, [...field, key]);
    if (value === null) delete result[key];
    else result[key] = coerce(definition, value, [...field, key]);
  }
  const removed = Object.entries((changes ?? {}) as Record<string, unknown>).filter(([, value]) => value === null);
  for (const definition of definitions) {
    const mustHave = mode === 'create' || removed.some(([key]) => key === definition.key);
    if (definition.required && mustHave && result[definition.key] === undefined) {
      throw invalid('user.missing_attribute', `Custom attribute "${definition.key}" is required`, [...field, definition.key]);
    }
  }
  return result;
}
