import type { EntityManager, EventSubscriber, FlushEventArgs, MikroORM, TransactionEventArgs } from '@mikro-orm/core';
import { AuditEvent } from '../../audit/audit-event.entity.js';
import { compileActionPatterns } from '../../audit/action-pattern.js';

/**
 * Audited changes that alter what the token endpoint serves: clients and their secrets and roles,
 * keys, resource servers, trusted issuers, roles and permissions (a client's scopes), the
 * environment's registration policy, and an organization's deletion (its service accounts go
 * with it). Every change is audited in its own transaction, so the audit events a commit carries
 * say exactly which environments' cached OAuth state it made stale, raw SQL and cascades included.
 */
export const OAUTH_RELEVANT_ACTIONS = [
  'application.*',
  'service_account.*',
  'client_secret.*',
  'signing_key.*',
  'resource_server.*',
  'trusted_issuer.*',
  'role.*',
  'permission.*',
  'environment.*',
  'organization.deleted',
];

/**
 * Drops this process's cached OAuth state of an environment as soon as a change to it commits
 * here, so that an answered mutation is in force at once. Other processes learn of it from the
 * database's change notices (the oauth_cache_notify triggers), which this process also hears, a
 * moment later. Mutations that change nothing the token endpoint reads leave the cache alone.
 */
export function invalidateOnCommit(orm: MikroORM, invalidate: (environmentId: string) => void): void {
  const relevant = compileActionPatterns(OAUTH_RELEVANT_ACTIONS);
  const pending = new WeakMap<EntityManager, Set<string>>();
  const release = (em: EntityManager) => {
    const environments = pending.get(em);
    if (!environments) return;
    pending.delete(em);
    for (const environmentId of environments) invalidate(environmentId);
  };
  const subscriber: EventSubscriber = {
    afterFlush({ em, uow }: FlushEventArgs) {
      for (const change of uow.getChangeSets()) {
        if (!(change.entity instanceof AuditEvent)) continue;
        const { action, environmentId } = change.entity;
        if (!environmentId || !relevant(action)) continue;
        let environments = pending.get(em);
        if (!environments) pending.set(em, (environments = new Set()));
        environments.add(environmentId);
      }
      // A flush outside a transaction has committed already; inside one, wait for the commit.
      if (!em.isInTransaction()) release(em);
    },
    afterTransactionCommit({ em }: TransactionEventArgs) {
      release(em);
    },
    afterTransactionRollback({ em }: TransactionEventArgs) {
      pending.delete(em);
    },
  };
  orm.em.getEventManager().registerSubscriber(subscriber);
}
