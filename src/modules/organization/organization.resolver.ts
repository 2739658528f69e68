import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Ctx, Info, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { requireScope } from '../../auth/principal.js';
import { OrderDirection, pageArgsFor, pageConnection, PageArgsType } from '../../graphql/connection.js';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { mutationPayload } from '../../graphql/user-error.js';
import { invalid } from '../../errors/app-error.js';
import type { Organization } from './organization.entity.js';
import {
  addOrganizationDomain,
  createOrganization,
  deleteOrganization,
  getOrganization,
  getOrganizationByExternalId,
  listOrganizations,
  removeOrganizationDomain,
  updateOrganization,
  updateOrganizationDomain,
  verifyOrganizationDomain,
  MAX_DOMAINS_PER_ORGANIZATION,
} from './organization.service.js';
import {
  AddOrganizationDomainInput,
  CreateOrganizationInput,
  DeleteInput,
  DeletePayload,
  OrganizationConnection,
  OrganizationDomainPayload,
  OrganizationDomainType,
  OrganizationFilter,
  OrganizationOrder,
  OrganizationOrderField,
  OrganizationPayload,
  OrganizationType,
  UpdateOrganizationDomainInput,
  UpdateOrganizationInput,
  VerifyOrganizationDomainInput,
} from './organization.types.js';
import { Cost } from '../../graphql/cost.js';

/**
 * What a field resolver reads of its parent: loaders hand over plain rows (db/rows.ts), not
 * entities. A root typed by a type alias reflects as `Object`, which type-graphql passes through
 * as is; a class imported as a value would reflect as itself and have every row copied into a
 * new instance of it on every call.
 */
type OrganizationRow = Pick<Organization, 'id'>;

@Resolver(() => OrganizationType)
export class OrganizationResolver {
  @Query(() => OrganizationType, {
    nullable: true,
    description: 'An organization by id, or by external id within an environment. Needs `organizations:read`.',
  })
  async organization(
    @Ctx() ctx: GraphQLContext,
    @Arg('id', () => ID, { nullable: true, description: 'Id of the organization.' }) id?: string,
    @Arg('externalId', () => String, { nullable: true, description: 'External id of the organization.' }) externalId?: string,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment for `externalId`; defaults to the key\'s.' })
    environmentId?: string,
  ) {
    if (id) return getOrganization(services(ctx), id);
    if (externalId) return getOrganizationByExternalId(services(ctx), environmentId, externalId);
    throw invalid('organization.lookup', 'Pass "id" or "externalId"', ['id']);
  }

  @Query(() => OrganizationConnection, { description: 'Organizations of an environment. Needs `organizations:read`.' })
  async organizations(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment to list; defaults to the key\'s.' })
    environmentId?: string,
    @Arg('filter', () => OrganizationFilter, { nullable: true, description: 'Conditions to match.' }) filter?: OrganizationFilter,
    @Arg('orderBy', () => OrganizationOrder, { nullable: true, description: 'Order; newest first by default.' })
    orderBy?: OrganizationOrder,
  ) {
    const sort = { field: orderBy?.field ?? OrganizationOrderField.CREATED_AT, direction: orderBy?.direction ?? OrderDirection.DESC };
    return pageConnection(await listOrganizations(services(ctx), { environmentId, filter, sort }, pageArgsFor(page, info), ctx.config.maxPageSize));
  }

  @Cost({ maxItems: MAX_DOMAINS_PER_ORGANIZATION })
  @FieldResolver(() => [OrganizationDomainType], { description: 'Domains of the organization, alphabetically.' })
  domains(@Root() organization: OrganizationRow, @Ctx() ctx: GraphQLContext) {
    requireScope(ctx.principal, 'organizations:read');
    return ctx.loaders.domainsByOrganization.load(organization.id);
  }

  @Mutation(() => OrganizationPayload, { description: 'Creates an organization. Needs `organizations:write`.' })
  createOrganization(@Arg('input', { description: 'What to do; see the input type.' }) input: CreateOrganizationInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ organization: await createOrganization(services(ctx), input) }));
  }

  @Mutation(() => OrganizationPayload, { description: 'Changes an organization. Needs `organizations:write`.' })
  updateOrganization(@Arg('input', { description: 'What to do; see the input type.' }) input: UpdateOrganizationInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ organization: await updateOrganization(services(ctx), input) }));
  }

  @Mutation(() => DeletePayload, { description: 'Deletes an organization with its domains and memberships. Needs `organizations:write`.' })
  deleteOrganization(@Arg('input', { description: 'What to do; see the input type.' }) input: DeleteInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ deletedId: await deleteOrganization(services(ctx), input) }));
  }

  @Mutation(() => OrganizationDomainPayload, { description: 'Adds a domain to an organization. Needs `organizations:write`.' })
  addOrganizationDomain(@Arg('input', { description: 'What to do; see the input type.' }) input: AddOrganizationDomainInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ domain: await addOrganizationDomain(services(ctx), input) }));
  }

  // Each one is a DNS lookup to the outside world: a few per operation, not a hundred aliases.
  @Cost({ perOperation: 5 })
  @Mutation(() => OrganizationDomainPayload, {
    description:
      'Checks the TXT record `_gatehouse-verification.<domain>` for the verification token; the domain becomes VERIFIED or FAILED. At most 5 per operation. Needs `organizations:write`.',
  })
  verifyOrganizationDomain(
    @Arg('input', { description: 'What to do; see the input type.' }) input: VerifyOrganizationDomainInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return mutationPayload(ctx, async () => ({ domain: await verifyOrganizationDomain(services(ctx), input, ctx.resolveTxt) }));
  }

  @Mutation(() => OrganizationDomainPayload, { description: 'Sets a domain\'s verification state by hand. Needs `organizations:write`.' })
  updateOrganizationDomain(
    @Arg('input', { description: 'What to do; see the input type.' }) input: UpdateOrganizationDomainInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return mutationPayload(ctx, async () => ({ domain: await updateOrganizationDomain(services(ctx), input) }));
  }

  @Mutation(() => OrganizationDomainPayload, { description: 'Removes a domain. Needs `organizations:write`.' })
  removeOrganizationDomain(@Arg('input', { description: 'What to do; see the input type.' }) input: DeleteInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ domain: await removeOrganizationDomain(services(ctx), input) }));
  }
}
