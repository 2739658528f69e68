import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import { countChildren, loadChildPages, type ChildPageArgs } from '../db/child-pages.js';
import type { Page } from '../db/pagination.js';
import { rowMapper, tableOf } from '../db/rows.js';
import { Membership } from '../modules/membership/membership.entity.js';
import { ClientSecret } from '../modules/oauth-client/oauth-client.entity.js';
import { Organization, OrganizationDomain } from '../modules/organization/organization.entity.js';
import { Permission, Role } from '../modules/role/role.entity.js';
import { SigningKey } from '../modules/signing-key/signing-key.entity.js';
import { User } from '../modules/user/user.entity.js';
import { WebhookAttempt } from '../modules/webhook/webhook.entity.js';

/**
 * Per-request batch loaders for every relation the schema exposes. Only reached from objects
 * the caller was already allowed to see, so they need no tenant filter of their own. They
 * return plain read-only rows (see db/rows.ts), never entities to change.
 */
export interface Loaders {
  organization: DataLoader<string, Organization | null>;
  user: DataLoader<string, User | null>;
  domainsByOrganization: DataLoader<string, OrganizationDomain[]>;
  rolesByMembership: DataLoader<string, Role[]>;
  permissionsByRole: DataLoader<string, Permission[]>;
  attemptsByDelivery: DataLoader<string, WebhookAttempt[]>;
  rolesByClient: DataLoader<string, Role[]>;
  secretsByClient: DataLoader<string, ClientSecret[]>;
  /** Every signing key of an environment (a key's state depends on its siblings). */
  signingKeysByEnvironment: DataLoader<string, SigningKey[]>;
  membershipPage: (parent: 'organizationId' | 'userId', parentId: string, args: ChildPageArgs) => Promise<ChildPage<Membership>>;
  membershipCount: (parent: 'organizationId' | 'userId', parentId: string) => Promise<number>;
}

export type ChildPage<T> = Omit<Page<T>, 'totalCount'>;

export interface LoaderOptions {
  /** Batch loads (DataLoader); only the benchmark turns this off. */
  batch: boolean;
  maxPageSize: number;
}

type Row = Record<string, unknown>;

const placeholders = (values: readonly unknown[]) => values.map(() => '?').join(', ');

function byId<T extends { id: string }>(em: EntityManager, entity: new (...args: never[]) => T, options: LoaderOptions) {
  const toNode = rowMapper(em, entity);
  const table = tableOf(em, entity);
  return new DataLoader<string, T | null>(
    async (ids) => {
      const rows = await (em as SqlEntityManager).execute<Row[]>(`select * from "${table}" where "id" in (${placeholders(ids)})`, [...ids]);
      const found = new Map(rows.map((row) => [String(row.id), toNode(row)]));
      return ids.map((id) => found.get(id) ?? null);
    },
    { batch: options.batch },
  );
}

/** Children of many parents in one statement that returns each row's parent as `_parent`. */
function viaLinkTable<T extends object>(
  em: EntityManager,
  entity: new (...args: never[]) => T,
  sql: (placeholders: string) => string,
  options: LoaderOptions,
) {
  const toNode = rowMapper(em, entity);
  return new DataLoader<string, T[]>(
    async (parentIds) => {
      const rows = await (em as SqlEntityManager).execute<Row[]>(sql(placeholders(parentIds)), [...parentIds]);
      const grouped = new Map<string, T[]>(parentIds.map((id) => [id, []]));
      for (const row of rows) grouped.get(String(row._parent))?.push(toNode(row));
      return parentIds.map((id) => grouped.get(id)!);
    },
    { batch: options.batch },
  );
}

/** Pages of children per parent; loads that share page arguments are batched into one statement. */
function childPages<T extends { id: string; createdAt: Date }>(
  em: EntityManager,
  entity: new (...args: never[]) => T,
  options: LoaderOptions,
) {
  const loaders = new Map<string, DataLoader<string, ChildPage<T>>>();
  return (parent: string, parentId: string, args: ChildPageArgs) => {
    const key = JSON.stringify([parent, args.first ?? null, args.after ?? null]);
    let loader = loaders.get(key);
    if (!loader) {
      loader = new DataLoader(
        async (ids) => {
          const pages = await loadChildPages(em, entity, parent, ids, args, options.maxPageSize);
          return ids.map((id) => pages.get(id)!);
        },
        { batch: options.batch },
      );
      loaders.set(key, loader);
    }
    return loader.load(parentId);
  };
}

function childCounts(em: EntityManager, entity: new (...args: never[]) => object, options: LoaderOptions) {
  const loaders = new Map<string, DataLoader<string, number>>();
  return (parent: string, parentId: string) => {
    let loader = loaders.get(parent);
    if (!loader) {
      loader = new DataLoader(
        async (ids) => {
          const counts = await countChildren(em, entity, parent, ids);
          return ids.map((id) => counts.get(id) ?? 0);
        },
        { batch: options.batch },
      );
      loaders.set(parent, loader);
    }
    return loader.load(parentId);
  };
}

export function createLoaders(em: EntityManager, options: LoaderOptions): Loaders {
  return {
    organization: byId(em, Organization, options),
    user: byId(em, User, options),
    domainsByOrganization: viaLinkTable(
      em,
      OrganizationDomain,
      (ids) => `select d.*, d."organization_id" as "_parent" from "organization_domain" d where d."organization_id" in (${ids}) order by d."domain"`,
      options,
    ),
    rolesByMembership: viaLinkTable(
      em,
      Role,
      (ids) =>
        `select r.*, mr."membership_id" as "_parent" from "role" r join "membership_role" mr on mr."role_id" = r."id"` +
        ` where mr."membership_id" in (${ids}) order by r."key"`,
      options,
    ),
    permissionsByRole: viaLinkTable(
      em,
      Permission,
      (ids) =>
        `select p.*, rp."role_id" as "_parent" from "permission" p join "role_permission" rp on rp."permission_id" = p."id"` +
        ` where rp."role_id" in (${ids}) order by p."key"`,
      options,
    ),
    attemptsByDelivery: viaLinkTable(
      em,
      WebhookAttempt,
      (ids) => `select a.*, a."delivery_id" as "_parent" from "webhook_attempt" a where a."delivery_id" in (${ids}) order by a."id"`,
      options,
    ),
    rolesByClient: viaLinkTable(
      em,
      Role,
      (ids) =>
        `select r.*, cr."client_id" as "_parent" from "role" r join "oauth_client_role" cr on cr."role_id" = r."id"` +
        ` where cr."client_id" in (${ids}) order by r."key"`,
      options,
    ),
    secretsByClient: viaLinkTable(
      em,
      ClientSecret,
      (ids) => `select s.*, s."client_id" as "_parent" from "client_secret" s where s."client_id" in (${ids}) order by s."created_at", s."id"`,
      options,
    ),
    signingKeysByEnvironment: viaLinkTable(
      em,
      SigningKey,
      (ids) => `select k.*, k."environment_id" as "_parent" from "signing_key" k where k."environment_id" in (${ids}) order by k."activates_at" desc, k."id" desc`,
      options,
    ),
    membershipPage: childPages(em, Membership, options),
    membershipCount: childCounts(em, Membership, options),
  };
}
