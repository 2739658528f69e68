import type { EntityManager } from '@mikro-orm/core';
import DataLoader from 'dataloader';
import type { ChildPageArgs } from '../../db/child-pages.js';
import type { ChildPage, LoaderOptions } from '../../graphql/loaders.js';
import type { User } from '../user/user.entity.js';
import type { UserLoaders } from '../user/user.loader.js';
import type { Membership } from './membership.entity.js';
import { MembershipRepository, type MembershipParent } from './membership.repository.js';

export interface MembershipLoaders {
  /** With `withUsers`, the members' users are read in the same statement and handed to the `user` loader. */
  membershipPage: (parent: MembershipParent, parentId: string, args: ChildPageArgs, withUsers?: boolean) => Promise<ChildPage<Membership>>;
  membershipCount: (parent: MembershipParent, parentId: string) => Promise<number>;
}

/**
 * Per-request loaders of the memberships of organizations and users: pages (loads that share
 * page arguments are batched into one statement) and counts (one grouped statement).
 */
export function membershipLoaders(em: EntityManager, options: LoaderOptions, related: UserLoaders): MembershipLoaders {
  const memberships = new MembershipRepository(em);
  const pages = new Map<string, DataLoader<string, ChildPage<Membership>>>();
  const counts = new Map<MembershipParent, DataLoader<string, number>>();
  return {
    membershipPage: (parent, parentId, args, asked = false) => {
      // Unbatched (the benchmark's N+1 baseline), every relation keeps its own statement.
      const withUsers = asked && options.batch;
      const key = JSON.stringify([parent, args.first ?? null, args.after ?? null, withUsers]);
      let loader = pages.get(key);
      if (!loader) {
        loader = new DataLoader(
          async (ids) => {
            const found = await memberships.pagesOf(parent, ids, args, options.maxPageSize, withUsers);
            if (withUsers) {
              for (const page of found.values()) {
                page.nodes.forEach((membership, i) => related.user.prime(membership.userId, page.embedded![i] as User | null));
              }
            }
            return ids.map((id) => found.get(id)!);
          },
          { batch: options.batch },
        );
        pages.set(key, loader);
      }
      return loader.load(parentId);
    },
    membershipCount: (parent, parentId) => {
      let loader = counts.get(parent);
      if (!loader) {
        loader = new DataLoader(
          async (ids) => {
            const found = await memberships.countsOf(parent, ids);
            return ids.map((id) => found.get(id) ?? 0);
          },
          { batch: options.batch },
        );
        counts.set(parent, loader);
      }
      return loader.load(parentId);
    },
  };
}
