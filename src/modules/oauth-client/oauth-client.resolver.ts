import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, type ClassType } from 'type-graphql';
import { requireScope } from '../../auth/principal.js';
import { pageConnection, PageArgsType } from '../../graphql/connection.js';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { mutationPayload } from '../../graphql/user-error.js';
import { DeleteInput, DeletePayload } from '../organization/organization.types.js';
import { RoleType } from '../role/role.types.js';
import { ApplicationType, type OAuthClient } from './oauth-client.entity.js';
import {
  createApplication,
  createClientSecret,
  createServiceAccount,
  deleteApplication,
  deleteServiceAccount,
  listApplications,
  listServiceAccounts,
  revokeClientSecret,
  updateApplication,
  updateServiceAccount,
} from './oauth-client.service.js';
import {
  ApplicationConnection,
  ApplicationNodeType,
  ApplicationPayload,
  ClientSecretIdInput,
  ClientSecretPayload,
  ClientSecretType,
  CreateApplicationInput,
  CreateClientSecretInput,
  CreateClientSecretPayload,
  CreateServiceAccountInput,
  ServiceAccountConnection,
  ServiceAccountPayload,
  ServiceAccountType,
  UpdateApplicationInput,
  UpdateServiceAccountInput,
} from './oauth-client.types.js';
import { Cost } from '../../graphql/cost.js';
import { MAX_ROLES_PER_HOLDER } from '../role/role.service.js';

/** Secrets listed per client: the live ones (at most 5) and the most recent retired ones. */
const CLIENT_SECRETS_LISTED = 20;

const INPUT = { description: 'What to do; see the input type.' };

/**
 * The fields both kinds of client resolve alike. Relations are batched per request, so a list
 * costs one statement per relation.
 */
function ClientFieldsResolver(objectType: ClassType) {
  @Resolver(() => objectType)
  abstract class ClientFields {
    @FieldResolver(() => ID, { description: 'Its OAuth `client_id` (the same as its id).' })
    clientId(@Root() client: OAuthClient) {
      return client.id;
    }

    @Cost({ maxItems: MAX_ROLES_PER_HOLDER })
    @FieldResolver(() => [RoleType], { description: 'Roles whose permissions it may request as scopes, by key.' })
    roles(@Root() client: OAuthClient, @Ctx() ctx: GraphQLContext) {
      requireScope(ctx.principal, 'roles:read');
      return ctx.loaders.rolesByClient.load(client.id);
    }

    @Cost({ maxItems: CLIENT_SECRETS_LISTED })
    @FieldResolver(() => [ClientSecretType], {
      description: `Its ${CLIENT_SECRETS_LISTED} newest secrets (revoked and expired ones too), oldest first; never their values.`,
    })
    async clientSecrets(@Root() client: OAuthClient, @Ctx() ctx: GraphQLContext) {
      requireScope(ctx.principal, 'oauth:read');
      return (await ctx.loaders.secretsByClient.load(client.id)).slice(-CLIENT_SECRETS_LISTED);
    }
  }
  return ClientFields;
}

@Resolver(() => ServiceAccountType)
export class ServiceAccountResolver extends ClientFieldsResolver(ServiceAccountType) {
  @Query(() => ServiceAccountConnection, { description: 'Service accounts of an environment, oldest first. Needs `oauth:read`.' })
  async serviceAccounts(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' }) environmentId?: string,
    @Arg('organizationId', () => ID, { nullable: true, description: 'Only the service accounts of this organization.' }) organizationId?: string,
  ) {
    return pageConnection(await listServiceAccounts(services(ctx), { environmentId, organizationId }, page, ctx.config.maxPageSize));
  }

  @Mutation(() => ServiceAccountPayload, { description: 'Creates a service account. Needs `oauth:write`.' })
  createServiceAccount(@Arg('input', INPUT) input: CreateServiceAccountInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({
      serviceAccount: await createServiceAccount(services(ctx), input, ctx.config.allowPrivateTargets),
    }));
  }

  @Mutation(() => ServiceAccountPayload, { description: 'Changes, enables or disables a service account. Needs `oauth:write`.' })
  updateServiceAccount(@Arg('input', INPUT) input: UpdateServiceAccountInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({
      serviceAccount: await updateServiceAccount(services(ctx), input, ctx.config.allowPrivateTargets),
    }));
  }

  @Mutation(() => DeletePayload, { description: 'Deletes a service account and its secrets. Needs `oauth:write`.' })
  deleteServiceAccount(@Arg('input', INPUT) input: DeleteInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ deletedId: await deleteServiceAccount(services(ctx), input) }));
  }
}

@Resolver(() => ApplicationNodeType)
export class ApplicationResolver extends ClientFieldsResolver(ApplicationNodeType) {
  @Query(() => ApplicationConnection, { description: 'Applications of an environment, oldest first. Needs `oauth:read`.' })
  async applications(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' }) environmentId?: string,
    @Arg('type', () => ApplicationType, { nullable: true, description: 'Only applications of this type.' }) type?: ApplicationType,
  ) {
    return pageConnection(await listApplications(services(ctx), { environmentId, type }, page, ctx.config.maxPageSize));
  }

  @FieldResolver(() => ApplicationType, { description: 'Created here (M2M) or registered dynamically.' })
  type(@Root() client: OAuthClient) {
    return client.applicationType;
  }

  @Mutation(() => ApplicationPayload, { description: 'Creates a machine-to-machine (M2M) application. Needs `oauth:write`.' })
  createApplication(@Arg('input', INPUT) input: CreateApplicationInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({
      application: await createApplication(services(ctx), input, ctx.config.allowPrivateTargets),
    }));
  }

  @Mutation(() => ApplicationPayload, {
    description: 'Changes, enables or disables an application, dynamically registered ones included. Needs `oauth:write`.',
  })
  updateApplication(@Arg('input', INPUT) input: UpdateApplicationInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({
      application: await updateApplication(services(ctx), input, ctx.config.allowPrivateTargets),
    }));
  }

  @Mutation(() => DeletePayload, { description: 'Deletes an application and its secrets. Needs `oauth:write`.' })
  deleteApplication(@Arg('input', INPUT) input: DeleteInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ deletedId: await deleteApplication(services(ctx), input) }));
  }
}

@Resolver(() => ClientSecretType)
export class ClientSecretResolver {
  @Mutation(() => CreateClientSecretPayload, {
    description: 'Adds a secret to a service account or application and returns it once. Needs `oauth:write`.',
  })
  createClientSecret(@Arg('input', INPUT) input: CreateClientSecretInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, () => createClientSecret(services(ctx), input));
  }

  @Mutation(() => ClientSecretPayload, { description: 'Revokes a client secret at once. Needs `oauth:write`.' })
  revokeClientSecret(@Arg('input', INPUT) input: ClientSecretIdInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ clientSecret: await revokeClientSecret(services(ctx), input) }));
  }
}
