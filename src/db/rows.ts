import type { EntityManager } from '@mikro-orm/core';

/**
 * Read-only rows as plain objects with the entity's property names. The GraphQL relation
 * loaders only read what they load, and skipping the ORM's hydration and identity map there
 * cut the cost of a nested 50-organization query by about a fifth (bench/graphql). Writes
 * always go through entities.
 */
const mappers = new WeakMap<object, (row: Record<string, unknown>) => unknown>();

export function rowMapper<T>(em: EntityManager, entity: new (...args: never[]) => T): (row: Record<string, unknown>) => T {
  const meta = em.getMetadata().get(entity.name);
  let mapper = mappers.get(meta);
  if (!mapper) {
    const columns = Object.values(meta.properties)
      .filter((prop) => prop.fieldNames?.length === 1 && prop.persist !== false)
      .map((prop) => [prop.fieldNames[0], prop.name, prop.runtimeType === 'Date'] as const);
    mapper = (row) => {
      const out: Record<string, unknown> = {};
      for (const [column, property, isDate] of columns) {
        const value = row[column];
        // The PostgreSQL driver hands timestamps over as text (MikroORM's choice); PGlite as Dates.
        out[property] = isDate && value != null && !(value instanceof Date) ? new Date(String(value)) : value;
      }
      return out;
    };
    mappers.set(meta, mapper);
  }
  return mapper as (row: Record<string, unknown>) => T;
}

/** Table name of an entity, for the loaders' hand-written batch statements. */
export const tableOf = (em: EntityManager, entity: new (...args: never[]) => unknown) =>
  em.getMetadata().get(entity.name).tableName;
