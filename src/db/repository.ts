import { LockMode, type EntityManager, type FilterQuery, type RequiredEntityData } from '@mikro-orm/core';
import { notFound } from '../errors/app-error.js';
import { scopeOf } from './tenant-scope.js';

type EntityClass<T> = new (...args: never[]) => T;

/**
 * The base of every module's repository: a module's persistence, bound to one EntityManager and
 * therefore to its tenant scope (tenant-scope.ts). There is no way to build one from an
 * EntityManager without a scope, and every read, count, update and delete it runs is narrowed to
 * the scope by the ORM's tenant filter, so callers never add tenant conditions by hand.
 */
export abstract class Repository<T extends { id: string }> {
  protected constructor(
    protected readonly em: EntityManager,
    protected readonly entity: EntityClass<T>,
    /** The name NOT_FOUND errors use (`organization`, `role`, …). */
    protected readonly resource: string,
  ) {
    scopeOf(em);
  }

  /** The record, or null when it does not exist or is outside the scope. */
  find(id: string): Promise<T | null> {
    return this.em.findOne(this.entity, { id } as FilterQuery<T>);
  }

  /** The record, or NOT_FOUND when it does not exist or is another tenant's (which reveals nothing). */
  async get(id: string): Promise<T> {
    const found = await this.find(id);
    if (!found) throw notFound(this.resource, id);
    return found;
  }

  /**
   * The record for a change, inside the change's transaction, with a row lock: two concurrent
   * read-modify-write mutations of one record run one after the other instead of overwriting
   * each other's changes (or audit snapshots).
   */
  async lock(id: string): Promise<T> {
    const found = await this.em.findOne(this.entity, { id } as FilterQuery<T>, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    if (!found) throw notFound(this.resource, id);
    return found;
  }

  /** A new record, written with the unit of work (the flush checks it is within the scope). */
  create(values: RequiredEntityData<T>): T {
    const record = this.em.create(this.entity, values);
    this.em.persist(record);
    return record;
  }

  /** Deletes the record when it is within the scope (a no-op otherwise). */
  async delete(id: string): Promise<void> {
    await this.em.nativeDelete(this.entity, { id } as FilterQuery<T>);
  }
}
