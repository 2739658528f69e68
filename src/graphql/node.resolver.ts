import { Arg, Ctx, ID, Query, Resolver } from 'type-graphql';
import { getAuditEvent } from '../audit/audit.service.js';
import { kindOfId, type IdKind } from '../db/id.js';
import { invalid, notFound } from '../errors/app-error.js';
import { getApiKey } from '../modules/api-key/api-key.service.js';
import { getConsent } from '../modules/consent/consent.service.js';
import { getSsoConnection } from '../modules/connection/connection.service.js';
import { getSsoTrace } from '../modules/connection/sso-trace.service.js';
import { getSpKey } from '../modules/connection/sp-key.service.js';
import { getSocialConnection } from '../modules/social/social-connection.service.js';
import { getDirectory } from '../modules/directory/directory.service.js';
import { getDirectoryGroup, getDirectoryUser } from '../modules/directory/directory-sync.service.js';
import { getOutboxMessage } from '../modules/email/email.service.js';
import { getEnvironment } from '../modules/environment/environment.service.js';
import { getMembership } from '../modules/membership/membership.service.js';
import { getApplication, getClientSecret, getServiceAccount } from '../modules/oauth-client/oauth-client.service.js';
import { getOrganization, getOrganizationDomain } from '../modules/organization/organization.service.js';
import { getResourceServer } from '../modules/resource-server/resource-server.service.js';
import { getPermission, getRole } from '../modules/role/role.service.js';
import type { ServiceContext } from '../modules/service-context.js';
import { getSession } from '../modules/session/session.service.js';
import { getSigningKey } from '../modules/signing-key/signing-key.service.js';
import { getTrustedIssuer } from '../modules/trusted-issuer/trusted-issuer.service.js';
import { getCustomAttributeDefinition, getUser } from '../modules/user/user.service.js';
import { getWebhookDelivery, getWebhookEndpoint } from '../modules/webhook/webhook.service.js';
import { getWorkspace } from '../modules/workspace/workspace.service.js';
import { services, type GraphQLContext } from './context.js';
import { Node } from './node.js';

const MAX_NODES = 100;

/** One fetcher per id kind; each applies the same scope and tenant checks as its own query. */
const FETCHERS: Record<IdKind, (ctx: ServiceContext, id: string) => Promise<object>> = {
  workspace: async (ctx, id) => {
    if (id !== ctx.principal.workspaceId) throw notFound('workspace', id);
    return getWorkspace(ctx);
  },
  environment: getEnvironment,
  apiKey: getApiKey,
  organization: getOrganization,
  domain: getOrganizationDomain,
  user: getUser,
  membership: getMembership,
  role: getRole,
  permission: getPermission,
  customAttribute: getCustomAttributeDefinition,
  auditEvent: getAuditEvent,
  webhookEndpoint: getWebhookEndpoint,
  webhookDelivery: getWebhookDelivery,
  serviceAccount: getServiceAccount,
  application: getApplication,
  clientSecret: getClientSecret,
  signingKey: getSigningKey,
  resourceServer: getResourceServer,
  trustedIssuer: getTrustedIssuer,
  outboxMessage: getOutboxMessage,
  session: getSession,
  consent: getConsent,
  ssoConnection: getSsoConnection,
  ssoTrace: getSsoTrace,
  spKey: getSpKey,
  socialConnection: getSocialConnection,
  directory: getDirectory,
  directoryUser: getDirectoryUser,
  directoryGroup: getDirectoryGroup,
};

/** Longest part of an invalid id quoted back: ids are 30 characters; anything longer is not worth echoing. */
const MAX_QUOTED_ID = 40;

function fetchNode(ctx: GraphQLContext, id: string): Promise<object> {
  const kind = kindOfId(id);
  if (!kind) {
    // Quoted only in part: the message must not echo (or amplify) whatever a caller sent.
    const quoted = id.length > MAX_QUOTED_ID ? `${id.slice(0, MAX_QUOTED_ID)}…` : id;
    throw invalid('node.invalid_id', `${JSON.stringify(quoted)} is not a Gatehouse id`, ['id']);
  }
  return FETCHERS[kind](services(ctx), id);
}

@Resolver()
export class NodeResolver {
  @Query(() => Node, { description: 'Any object by its id. Needs the read scope of its type.' })
  node(@Arg('id', () => ID, { description: 'A prefixed id such as `org_…`.' }) id: string, @Ctx() ctx: GraphQLContext) {
    return fetchNode(ctx, id);
  }

  @Query(() => [Node], { description: `Several objects by id (at most ${MAX_NODES}), in the order asked.` })
  nodes(@Arg('ids', () => [ID], { description: 'Prefixed ids.' }) ids: string[], @Ctx() ctx: GraphQLContext) {
    if (ids.length > MAX_NODES) throw invalid('node.too_many', `Ask for at most ${MAX_NODES} ids at once`, ['ids']);
    return Promise.all(ids.map((id) => fetchNode(ctx, id)));
  }
}
