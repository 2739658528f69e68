import { Field, ID, InterfaceType } from 'type-graphql';
import { kindOfId, type IdKind } from '../db/id.js';

/** GraphQL type name of each id kind that `node(id:)` can return. */
export const NODE_TYPE_BY_KIND: Partial<Record<IdKind, string>> = {
  workspace: 'Workspace',
  environment: 'Environment',
  apiKey: 'ApiKey',
  organization: 'Organization',
  domain: 'OrganizationDomain',
  user: 'User',
  membership: 'Membership',
  role: 'Role',
  permission: 'Permission',
  customAttribute: 'CustomAttributeDefinition',
  auditEvent: 'AuditEvent',
  webhookEndpoint: 'WebhookEndpoint',
  webhookDelivery: 'WebhookDelivery',
  serviceAccount: 'ServiceAccount',
  application: 'Application',
  clientSecret: 'ClientSecret',
  signingKey: 'SigningKey',
  resourceServer: 'ResourceServer',
  trustedIssuer: 'TrustedIssuer',
  outboxMessage: 'OutboxMessage',
  session: 'Session',
  consent: 'Consent',
  ssoConnection: 'SsoConnection',
  ssoTrace: 'SsoTrace',
  spKey: 'SsoSpKey',
  socialConnection: 'SocialConnection',
  directory: 'Directory',
  directoryUser: 'DirectoryUser',
  directoryGroup: 'DirectoryGroup',
};

@InterfaceType('Node', {
  description: 'An object with a globally unique, prefixed id (`org_…`, `usr_…`) that `node(id:)` can fetch.',
  resolveType: (value: { id: string }) => {
    const kind = kindOfId(value.id);
    return kind ? NODE_TYPE_BY_KIND[kind] : undefined;
  },
})
export abstract class Node {
  @Field(() => ID, { description: 'Globally unique id.' })
  id!: string;
}
