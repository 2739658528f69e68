import 'reflect-metadata';
import { isInterfaceType, isObjectType, type GraphQLSchema } from 'graphql';
import { buildSchema, type BuildSchemaOptions, type PubSub } from 'type-graphql';
import { AuditResolver, AuditSubscriptionResolver } from '../audit/audit.resolver.js';
import { ApiKeyResolver } from '../modules/api-key/api-key.resolver.js';
import { ConsentResolver } from '../modules/consent/consent.resolver.js';
import { EmailResolver } from '../modules/email/email.resolver.js';
import { EnvironmentResolver } from '../modules/environment/environment.resolver.js';
import {
  MembershipResolver,
  OrganizationMembershipsResolver,
  UserMembershipsResolver,
} from '../modules/membership/membership.resolver.js';
import { ApplicationResolver, ClientSecretResolver, ServiceAccountResolver } from '../modules/oauth-client/oauth-client.resolver.js';
import { OrganizationResolver } from '../modules/organization/organization.resolver.js';
import { ResourceServerResolver } from '../modules/resource-server/resource-server.resolver.js';
import { SsoConnectionResolver } from '../modules/connection/connection.resolver.js';
import { SocialConnectionResolver } from '../modules/social/social-connection.resolver.js';
import { DirectoryGroupResolver, DirectoryResolver, DirectoryUserResolver } from '../modules/directory/directory.resolver.js';
import { UserIdentityResolver } from '../modules/identity/identity.resolver.js';
import { SsoTraceResolver } from '../modules/connection/sso-trace.resolver.js';
import { SpKeyResolver } from '../modules/connection/sp-key.resolver.js';
import { SessionResolver } from '../modules/session/session.resolver.js';
import { RoleRelationsResolver, RoleResolver } from '../modules/role/role.resolver.js';
import { SigningKeyResolver } from '../modules/signing-key/signing-key.resolver.js';
import { TrustedIssuerResolver } from '../modules/trusted-issuer/trusted-issuer.resolver.js';
import { UserResolver } from '../modules/user/user.resolver.js';
import { WebhookDeliveryResolver, WebhookResolver } from '../modules/webhook/webhook.resolver.js';
import { WorkspaceResolver } from '../modules/workspace/workspace.resolver.js';
import { kindOfId } from '../db/id.js';
import { NODE_TYPE_BY_KIND } from './node.js';
import { NodeResolver } from './node.resolver.js';
import { directFieldResolvers } from './direct-resolvers.js';
import { DateTimeScalar } from './scalars.js';

const NO_TOPICS: PubSub = {
  publish: () => {
    throw new Error('topic-based subscriptions are not used; see AuditBus');
  },
  subscribe: () => {
    throw new Error('topic-based subscriptions are not used; see AuditBus');
  },
};

let built: Promise<GraphQLSchema> | undefined;

/** The `Type.field`s whose resolver methods are called without type-graphql's wrapper (direct-resolvers.ts). */
export const directlyResolvedFields: string[] = [];

/** The schema is built once per process: type-graphql's metadata is global anyway. */
export function getSchema(): Promise<GraphQLSchema> {
  built ??= build();
  return built;
}

async function build(): Promise<GraphQLSchema> {
  const options: BuildSchemaOptions = {
    resolvers: [
      NodeResolver,
      WorkspaceResolver,
      EnvironmentResolver,
      ApiKeyResolver,
      OrganizationResolver,
      OrganizationMembershipsResolver,
      UserResolver,
      UserMembershipsResolver,
      MembershipResolver,
      RoleResolver,
      RoleRelationsResolver,
      AuditResolver,
      AuditSubscriptionResolver,
      WebhookResolver,
      WebhookDeliveryResolver,
      ServiceAccountResolver,
      ApplicationResolver,
      ClientSecretResolver,
      ResourceServerResolver,
      SsoConnectionResolver,
      SocialConnectionResolver,
      DirectoryResolver,
      DirectoryUserResolver,
      DirectoryGroupResolver,
      UserIdentityResolver,
      SsoTraceResolver,
      SpKeyResolver,
      TrustedIssuerResolver,
      SigningKeyResolver,
      EmailResolver,
      SessionResolver,
      ConsentResolver,
    ],
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    // Our only subscription brings its own source (the audit table, woken by the AuditBus);
    // type-graphql still insists on a PubSub, so it gets one that refuses topic use.
    pubSub: NO_TOPICS,
    validate: false,
    emitSchemaFile: false,
  };
  const schema = await buildSchema(options);
  directlyResolvedFields.push(...directFieldResolvers(schema, options));
  // type-graphql has no option for the root types' descriptions.
  schema.getQueryType()!.description = 'Reads. Every field needs `Authorization: Bearer <API key>` and the scope it names.';
  schema.getMutationType()!.description =
    'Changes. Each takes one `input` and returns a payload with `userErrors`; every change is audited.';
  // type-graphql wraps every `resolveType` in an async function, so each abstract-typed value
  // (node(id:), nodes(ids:)) would wait a promise tick to learn its type, and graphql-jit (see
  // executor.ts), which needs the type name at once, could not compile such queries. The same
  // resolution as node.ts's, synchronous.
  const node = schema.getType('Node');
  if (isInterfaceType(node)) {
    node.resolveType = (value: { id: string }) => {
      const kind = kindOfId(value.id);
      return kind ? NODE_TYPE_BY_KIND[kind] : undefined;
    };
  }
  // A connection's `totalCount` is a lazy promise (connection.ts) behind a plain property.
  // graphql-js awaits whatever a field holds; graphql-jit inlines resolver-less fields as plain
  // values, so the field gets a resolver, which it awaits.
  for (const type of Object.values(schema.getTypeMap())) {
    const totalCount = isObjectType(type) ? type.getFields().totalCount : undefined;
    if (totalCount && !totalCount.resolve) totalCount.resolve = (source: { totalCount: unknown }) => source.totalCount;
  }
  return schema;
}
