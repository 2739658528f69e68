import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { requireScope } from '../../auth/principal.js';
import { pageConnection, PageArgsType } from '../../graphql/connection.js';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { mutationPayload } from '../../graphql/user-error.js';
import { DeleteInput, DeletePayload } from '../organization/organization.types.js';
import { DeliveryStatus, type WebhookDelivery, type WebhookEndpoint } from './webhook.entity.js';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  redeliverWebhook,
  rotateWebhookSecret,
  updateWebhookEndpoint,
} from './webhook.service.js';
import {
  CreateWebhookEndpointInput,
  RedeliverWebhookInput,
  RedeliverWebhookPayload,
  UpdateWebhookEndpointInput,
  WebhookAttemptType,
  WebhookDeliveryConnection,
  WebhookDeliveryType,
  WebhookEndpointConnection,
  WebhookEndpointIdInput,
  WebhookEndpointPayload,
  WebhookEndpointSecretPayload,
  WebhookEndpointType,
} from './webhook.types.js';
import { MAX_WEBHOOK_RETRIES } from '../../config.js';
import { Cost } from '../../graphql/cost.js';

const INPUT = { description: 'What to do; see the input type.' };

@Resolver(() => WebhookEndpointType)
export class WebhookResolver {
  @Query(() => WebhookEndpointConnection, { description: 'Webhook endpoints of an environment, oldest first. Needs `webhooks:read`.' })
  async webhookEndpoints(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' }) environmentId?: string,
  ) {
    return pageConnection(await listWebhookEndpoints(services(ctx), environmentId, page, ctx.config.maxPageSize));
  }

  @Query(() => WebhookDeliveryConnection, { description: 'Deliveries to an endpoint, newest first. Needs `webhooks:read`.' })
  async webhookDeliveries(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Arg('endpointId', () => ID, { description: 'The endpoint.' }) endpointId: string,
    @Arg('status', () => DeliveryStatus, { nullable: true, description: 'Only deliveries in this state.' }) status?: DeliveryStatus,
  ) {
    return pageConnection(await listWebhookDeliveries(services(ctx), { endpointId, status }, page, ctx.config.maxPageSize));
  }

  @FieldResolver(() => WebhookDeliveryConnection, { description: 'Deliveries to this endpoint, newest first.' })
  async deliveries(@Root() endpoint: WebhookEndpoint, @Args() page: PageArgsType, @Ctx() ctx: GraphQLContext) {
    return pageConnection(await listWebhookDeliveries(services(ctx), { endpointId: endpoint.id }, page, ctx.config.maxPageSize));
  }

  @Mutation(() => WebhookEndpointSecretPayload, { description: 'Creates a webhook endpoint and returns its signing secret once. Needs `webhooks:write` and the read scope of every event family it receives (`audit:read` reads all).' })
  createWebhookEndpoint(@Arg('input', INPUT) input: CreateWebhookEndpointInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, () => createWebhookEndpoint(services(ctx), ctx.webhooks, input));
  }

  @Mutation(() => WebhookEndpointPayload, { description: 'Changes a webhook endpoint. Needs `webhooks:write`, and to change its URL or event types or re-enable it, the read scope of every event family it then receives (`audit:read` reads all).' })
  updateWebhookEndpoint(@Arg('input', INPUT) input: UpdateWebhookEndpointInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ webhookEndpoint: await updateWebhookEndpoint(services(ctx), ctx.webhooks, input) }));
  }

  @Mutation(() => WebhookEndpointSecretPayload, { description: 'Replaces an endpoint\'s signing secret and returns the new one once. Needs `webhooks:write`.' })
  rotateWebhookSecret(@Arg('input', INPUT) input: WebhookEndpointIdInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, () => rotateWebhookSecret(services(ctx), ctx.webhooks, input));
  }

  @Mutation(() => DeletePayload, { description: 'Deletes a webhook endpoint and its deliveries. Needs `webhooks:write`.' })
  deleteWebhookEndpoint(@Arg('input', INPUT) input: DeleteInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ deletedId: await deleteWebhookEndpoint(services(ctx), input) }));
  }

  @Mutation(() => RedeliverWebhookPayload, { description: 'Sends a delivery\'s event again, as a new delivery. Needs `webhooks:write` and the read scope of the event (`audit:read` reads all).' })
  redeliverWebhook(@Arg('input', INPUT) input: RedeliverWebhookInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ delivery: await redeliverWebhook(services(ctx), input) }));
  }
}

@Resolver(() => WebhookDeliveryType)
export class WebhookDeliveryResolver {
  @Cost({ maxItems: MAX_WEBHOOK_RETRIES + 1 })
  @FieldResolver(() => [WebhookAttemptType], { description: 'Every HTTP attempt, oldest first.' })
  attemptHistory(@Root() delivery: WebhookDelivery, @Ctx() ctx: GraphQLContext) {
    requireScope(ctx.principal, 'webhooks:read');
    return ctx.loaders.attemptsByDelivery.load(delivery.id);
  }
}
