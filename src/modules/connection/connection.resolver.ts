import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { pageConnection, PageArgsType } from '../../graphql/connection.js';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { mutationPayload } from '../../graphql/user-error.js';
import { issuerFor } from '../environment/issuer.js';
import { DeleteInput, DeletePayload } from '../organization/organization.types.js';
import { SsoConnectionType, type SsoConnection } from './connection.entity.js';
import {
  createOidcConnection,
  createSamlConnection,
  deleteSsoConnection,
  listSsoConnections,
  speaksSaml,
  updateOidcConnection,
  updateSamlConnection,
} from './connection.service.js';
import {
  CreateOidcConnectionInput,
  CreateSamlConnectionInput,
  CreateSimulatorConnectionInput,
  OidcSettingsType,
  SamlSettingsType,
  SsoAttributeMappingType,
  SsoConnectionConnection,
  SsoConnectionNode,
  SsoConnectionPayload,
  SimulatorConnectionPayload,
  UpdateOidcConnectionInput,
  UpdateSamlConnectionInput,
} from './connection.types.js';
import { samlServiceProvider, oidcRedirectUri } from './connection.urls.js';
import { PROVIDER_PRESETS } from './attribute-mapping.js';
import { createSimulatorConnection } from './simulator.service.js';

const INPUT = { description: 'What to do; see the input type.' };

@Resolver(() => SsoConnectionNode)
export class SsoConnectionResolver {
  @Query(() => SsoConnectionConnection, {
    description: 'SSO connections of an organization, or of an environment, oldest first. Needs `organizations:read`.',
  })
  async ssoConnections(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' }) environmentId?: string,
    @Arg('organizationId', () => ID, { nullable: true, description: 'Only this organization\'s.' }) organizationId?: string,
  ) {
    return pageConnection(await listSsoConnections(services(ctx), { environmentId, organizationId }, page, ctx.config.maxPageSize));
  }

  @FieldResolver(() => SsoAttributeMappingType, { description: 'The attribute (claim) names read first for each part of a person: the connection\'s own, else its provider preset\'s.' })
  attributeMapping(@Root() connection: SsoConnection): SsoAttributeMappingType {
    const preset = PROVIDER_PRESETS[connection.provider];
    const own = connection.attributeMapping;
    return {
      email: own.email ?? preset.email ?? null,
      givenName: own.givenName ?? preset.givenName ?? null,
      familyName: own.familyName ?? preset.familyName ?? null,
      name: own.name ?? preset.name ?? null,
      groups: own.groups ?? preset.groups ?? null,
      custom: { ...own.custom },
    };
  }

  @FieldResolver(() => SamlSettingsType, { nullable: true, description: 'SAML settings (SAML and SIMULATOR connections only).' })
  saml(@Root() connection: SsoConnection, @Ctx() ctx: GraphQLContext): SamlSettingsType | null {
    if (!speaksSaml(connection.type)) return null;
    return {
      ...samlServiceProvider(issuerFor(ctx.config.publicUrl, connection.environmentId), connection.id),
      idpMetadataUrl: connection.idpMetadataUrl,
      idpMetadataFetchedAt: connection.idpMetadataFetchedAt,
      idpMetadataError: connection.idpMetadataError,
      idpEntityId: connection.idpEntityId,
      idpSsoUrl: connection.idpSsoUrl,
      idpCertificates: connection.idpCertificates.map((certificate) => ({ ...certificate, notBefore: new Date(certificate.notBefore), notAfter: new Date(certificate.notAfter) })),
      allowIdpInitiated: connection.allowIdpInitiated,
      idpInitiatedApplicationId: connection.idpInitiatedApplicationId,
      requireSignedAssertion: connection.requireSignedAssertion,
      allowSha1: connection.allowSha1,
    };
  }

  @FieldResolver(() => OidcSettingsType, { nullable: true, description: 'OpenID Connect settings (OIDC connections only).' })
  oidc(@Root() connection: SsoConnection, @Ctx() ctx: GraphQLContext): OidcSettingsType | null {
    if (connection.type !== SsoConnectionType.OIDC) return null;
    return {
      redirectUri: oidcRedirectUri(issuerFor(ctx.config.publicUrl, connection.environmentId)),
      issuer: connection.oidcIssuer,
      clientId: connection.oidcClientId,
      hasClientSecret: connection.oidcClientSecretSealed !== null,
      scopes: connection.oidcScopes,
    };
  }

  @Mutation(() => SsoConnectionPayload, { description: 'Creates a SAML connection for an organization (DRAFT unless told otherwise). Needs `organizations:write`.' })
  createSamlConnection(@Arg('input', INPUT) input: CreateSamlConnectionInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ ssoConnection: await createSamlConnection(services(ctx), input, ctx.outboundFetch) }));
  }

  @Mutation(() => SsoConnectionPayload, {
    description: 'Changes a SAML connection, or a SIMULATOR one (all but its IdP entity id, SSO URL and certificates, which are the simulator\'s own). Needs `organizations:write`.',
  })
  updateSamlConnection(@Arg('input', INPUT) input: UpdateSamlConnectionInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ ssoConnection: await updateSamlConnection(services(ctx), input, ctx.outboundFetch) }));
  }

  @Mutation(() => SsoConnectionPayload, { description: 'Creates an OpenID Connect connection for an organization (DRAFT unless told otherwise). Needs `organizations:write`.' })
  createOidcConnection(@Arg('input', INPUT) input: CreateOidcConnectionInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ ssoConnection: await createOidcConnection(services(ctx), ctx.secretBox, input) }));
  }

  @Mutation(() => SsoConnectionPayload, { description: 'Changes an OpenID Connect connection. Needs `organizations:write`.' })
  updateOidcConnection(@Arg('input', INPUT) input: UpdateOidcConnectionInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ ssoConnection: await updateOidcConnection(services(ctx), ctx.secretBox, input) }));
  }

  @Mutation(() => SimulatorConnectionPayload, {
    description:
      'Sets up the IdP simulator of a DEVELOPMENT environment (once; later calls return it): the organization "Simulated Customer" with the verified domains example.com and example.org, and an ACTIVE SIMULATOR connection for it. Signing in as anyone@example.com then leads to the simulator page, which sends a real signed SAML response (or a chosen fault) to the ACS. Refused elsewhere (`sso_connection.simulator_development_only`). Needs `organizations:write`.',
  })
  createSimulatorConnection(@Arg('input', INPUT) input: CreateSimulatorConnectionInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, () => createSimulatorConnection(services(ctx), ctx.secretBox, ctx.config.publicUrl, input));
  }

  @Mutation(() => DeletePayload, { description: 'Deletes an SSO connection. Needs `organizations:write`.' })
  deleteSsoConnection(@Arg('input', INPUT) input: DeleteInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ deletedId: await deleteSsoConnection(services(ctx), input) }));
  }
}
