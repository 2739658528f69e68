import type { EntityManager } from '@mikro-orm/core';
import DataLoader from 'dataloader';
import type { LoaderOptions } from '../../graphql/loaders.js';
import { SsoIdentityLinkRepository } from '../connection/connection.repository.js';
import { SocialIdentityLinkRepository } from '../social/social-connection.repository.js';
import { UserIdentityKind, type UserIdentityType } from './identity.types.js';

/** Identities listed per user, at most: the most recently used. */
export const MAX_USER_IDENTITIES = 50;

export interface IdentityLoaders {
  identitiesByUser: DataLoader<string, UserIdentityType[]>;
}

/** Per-request batch loader of users' SSO and social identities, through the request's scoped EntityManager. */
export function identityLoaders(em: EntityManager, options: LoaderOptions): IdentityLoaders {
  return {
    identitiesByUser: new DataLoader(
      async (userIds) => {
        const [sso, social] = await Promise.all([new SsoIdentityLinkRepository(em).ofUsers(userIds), new SocialIdentityLinkRepository(em).ofUsers(userIds)]);
        const identities = [
          ...sso.map((link) => ({ userId: link.userId, kind: UserIdentityKind.SSO, connectionId: link.connectionId, subject: link.subject, rawAttributes: link.attributes, lastSignedInAt: link.lastSignedInAt, createdAt: link.createdAt })),
          ...social.map((link) => ({ userId: link.userId, kind: UserIdentityKind.SOCIAL, connectionId: link.connectionId, subject: link.subject, rawAttributes: link.profile, lastSignedInAt: link.lastSignedInAt, createdAt: link.createdAt })),
        ].sort((a, b) => (b.lastSignedInAt?.getTime() ?? 0) - (a.lastSignedInAt?.getTime() ?? 0));
        return userIds.map((id) => identities.filter((identity) => identity.userId === id).slice(0, MAX_USER_IDENTITIES));
      },
      { batch: options.batch },
    ),
  };
}
