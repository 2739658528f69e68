import { requireScope } from '../../auth/principal.js';
import type { PageArgs } from '../../db/pagination.js';
import { OAuthClientRepository } from '../oauth-client/oauth-client.repository.js';
import { audit, environmentFor, inTransaction, type ServiceContext } from '../service-context.js';
import { UserRepository } from '../user/user.repository.js';
import { revokeTokensOfUser } from '../user-token/user-token.service.js';
import type { Consent } from './consent.entity.js';
import { ConsentRepository } from './consent.repository.js';

export interface ConsentListFilter {
  userId?: string | null;
  applicationId?: string | null;
}

export const snapshotConsent = (consent: Consent) => ({
  id: consent.id,
  userId: consent.userId,
  clientId: consent.clientId,
  scopes: consent.scopes,
  resources: consent.resources,
  organizationIds: consent.organizationIds,
});

export async function getConsent(ctx: ServiceContext, id: string): Promise<Consent> {
  requireScope(ctx.principal, 'users:read');
  return new ConsentRepository(ctx.em).get(id);
}

/** What the users of an environment granted third-party applications, newest first. */
export async function listConsents(
  ctx: ServiceContext,
  query: { environmentId?: string | null; filter?: ConsentListFilter | null },
  args: PageArgs,
  maxPageSize: number,
) {
  requireScope(ctx.principal, 'users:read');
  const environmentId = environmentFor(ctx, query.environmentId);
  const filter = query.filter ?? {};
  return new ConsentRepository(ctx.em).page(
    { environmentId, userId: filter.userId, clientId: filter.applicationId },
    { field: 'createdAt', direction: 'DESC' },
    args,
    maxPageSize,
  );
}

/**
 * Withdraws what a user granted an application: the consent is deleted (the next sign-in asks
 * again) and every token the application holds for the user from sign-ins (refresh token families
 * and live access tokens) is revoked. Audited as `consent.revoked`.
 */
export async function revokeConsent(ctx: ServiceContext, input: { id: string }): Promise<string> {
  requireScope(ctx.principal, 'users:write');
  return inTransaction(ctx, async (em) => {
    const consents = new ConsentRepository(em);
    const consent = await consents.lock(input.id);
    const user = await new UserRepository(em).get(consent.userId);
    const application = await new OAuthClientRepository(em).find(consent.clientId);
    await revokeTokensOfUser(em, consent.userId, { clientId: consent.clientId });
    await consents.delete(consent.id);
    audit(ctx, em, {
      action: 'consent.revoked',
      environmentId: consent.environmentId,
      targets: [
        { type: 'consent', id: consent.id },
        { type: 'user', id: user.id, name: user.email },
        { type: 'application', id: consent.clientId, ...(application ? { name: application.name } : {}) },
      ],
      before: snapshotConsent(consent),
    });
    return consent.id;
  });
}
