import { randomBytes } from 'node:crypto';
import { checkActionPatterns } from '../../audit/action-pattern.js';
import { requireScope } from '../../auth/principal.js';
import type { SecretBox } from '../../crypto/at-rest.js';
import { newId } from '../../db/id.js';
import type { PageArgs } from '../../db/pagination.js';
import { invalid } from '../../errors/app-error.js';
import { audit, environmentFor, inTransaction, type ServiceContext } from '../service-context.js';
import { checkOptionalText } from '../validation.js';
import { requireEventReadScopes } from './event-scopes.js';
import { checkWebhookUrl } from './target-guard.js';
import type { DeliveryStatus, WebhookDelivery, WebhookEndpoint } from './webhook.entity.js';
import { WebhookDeliveryRepository, WebhookEndpointRepository } from './webhook.repository.js';

export const MAX_ENDPOINTS_PER_ENVIRONMENT = 50;

/** What webhook management needs beyond the usual service context. */
export interface WebhookSettings {
  box: SecretBox;
  allowPrivateTargets: boolean;
}

const snapshotEndpoint = (endpoint: WebhookEndpoint) => ({
  id: endpoint.id,
  url: endpoint.url,
  description: endpoint.description,
  eventTypes: endpoint.eventTypes,
  enabled: endpoint.enabled,
  secretPrefix: endpoint.secretPrefix,
});
const endpointTarget = (endpoint: WebhookEndpoint) => ({ type: 'webhook_endpoint', id: endpoint.id, name: endpoint.url });

/** A Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

function checkEventTypes(eventTypes: string[] | null | undefined): string[] {
  const unique = [...new Set(eventTypes ?? [])];
  checkActionPatterns(unique, ['input', 'eventTypes']);
  return unique.sort();
}

export async function getWebhookEndpoint(ctx: ServiceContext, id: string) {
  requireScope(ctx.principal, 'webhooks:read');
  return new WebhookEndpointRepository(ctx.em).get(id);
}

export async function getWebhookDelivery(ctx: ServiceContext, id: string) {
  requireScope(ctx.principal, 'webhooks:read');
  return new WebhookDeliveryRepository(ctx.em).get(id);
}

export async function listWebhookEndpoints(ctx: ServiceContext, environmentId: string | null | undefined, args: PageArgs, maxPageSize: number) {
  requireScope(ctx.principal, 'webhooks:read');
  return new WebhookEndpointRepository(ctx.em).list(environmentFor(ctx, environmentId), args, maxPageSize);
}

export async function listWebhookDeliveries(
  ctx: ServiceContext,
  query: { endpointId: string; status?: DeliveryStatus | null },
  args: PageArgs,
  maxPageSize: number,
) {
  const endpoint = await getWebhookEndpoint(ctx, query.endpointId);
  return new WebhookDeliveryRepository(ctx.em).list({ endpointId: endpoint.id, status: query.status }, args, maxPageSize);
}

export async function createWebhookEndpoint(
  ctx: ServiceContext,
  settings: WebhookSettings,
  input: { environmentId?: string | null; url: string; description?: string | null; eventTypes?: string[] | null; enabled?: boolean | null },
): Promise<{ webhookEndpoint: WebhookEndpoint; secret: string }> {
  requireScope(ctx.principal, 'webhooks:write');
  const environmentId = environmentFor(ctx, input.environmentId);
  const eventTypes = checkEventTypes(input.eventTypes);
  requireEventReadScopes(ctx.principal, eventTypes);
  const url = checkWebhookUrl(input.url, settings.allowPrivateTargets, ['input', 'url']);
  const description = checkOptionalText(input.description, ['input', 'description']);
  const id = newId('webhookEndpoint');
  const secret = newSecret();
  return inTransaction(ctx, async (em) => {
    const endpoints = new WebhookEndpointRepository(em);
    if ((await endpoints.countIn(environmentId)) >= MAX_ENDPOINTS_PER_ENVIRONMENT) {
      throw invalid('webhook.too_many_endpoints', `An environment has at most ${MAX_ENDPOINTS_PER_ENVIRONMENT} webhook endpoints`, ['input', 'url']);
    }
    const webhookEndpoint = endpoints.create({
      id,
      environmentId,
      url,
      description,
      eventTypes,
      enabled: input.enabled ?? true,
      secretSealed: settings.box.seal(secret, id),
      secretPrefix: secret.slice(0, 12),
    });
    audit(ctx, em, {
      action: 'webhook_endpoint.created',
      environmentId,
      targets: [endpointTarget(webhookEndpoint)],
      after: snapshotEndpoint(webhookEndpoint),
    });
    return { webhookEndpoint, secret };
  });
}

export async function updateWebhookEndpoint(
  ctx: ServiceContext,
  settings: WebhookSettings,
  input: { id: string; url?: string | null; description?: string | null; eventTypes?: string[] | null; enabled?: boolean | null },
): Promise<WebhookEndpoint> {
  requireScope(ctx.principal, 'webhooks:write');
  const url = input.url != null ? checkWebhookUrl(input.url, settings.allowPrivateTargets, ['input', 'url']) : undefined;
  const eventTypes = input.eventTypes != null ? checkEventTypes(input.eventTypes) : undefined;
  const description = input.description !== undefined ? checkOptionalText(input.description, ['input', 'description']) : undefined;
  return inTransaction(ctx, async (em) => {
    const endpoint = await new WebhookEndpointRepository(em).lock(input.id);
    // Choosing where events go, which events, or resuming them is subscribing anew: the caller
    // must read what the endpoint will then receive, whoever set its event types (a key that
    // lost a scope, or an owner key). Describing or disabling an endpoint sends nothing.
    if (url !== undefined || eventTypes !== undefined || input.enabled === true) {
      requireEventReadScopes(ctx.principal, eventTypes ?? endpoint.eventTypes);
    }
    const before = snapshotEndpoint(endpoint);
    if (url !== undefined) endpoint.url = url;
    if (eventTypes !== undefined) endpoint.eventTypes = eventTypes;
    if (description !== undefined) endpoint.description = description;
    if (input.enabled != null) {
      endpoint.enabled = input.enabled;
      // Re-enabling starts afresh: the reason and the failure streak no longer apply.
      if (input.enabled) {
        endpoint.disabledReason = null;
        endpoint.failingSince = null;
      }
    }
    audit(ctx, em, {
      action: 'webhook_endpoint.updated',
      environmentId: endpoint.environmentId,
      targets: [endpointTarget(endpoint)],
      before,
      after: snapshotEndpoint(endpoint),
    });
    return endpoint;
  });
}

export async function rotateWebhookSecret(ctx: ServiceContext, settings: WebhookSettings, input: { id: string }) {
  requireScope(ctx.principal, 'webhooks:write');
  const secret = newSecret();
  return inTransaction(ctx, async (em) => {
    const endpoint = await new WebhookEndpointRepository(em).lock(input.id);
    const before = snapshotEndpoint(endpoint);
    endpoint.secretSealed = settings.box.seal(secret, endpoint.id);
    endpoint.secretPrefix = secret.slice(0, 12);
    audit(ctx, em, {
      action: 'webhook_endpoint.secret_rotated',
      environmentId: endpoint.environmentId,
      targets: [endpointTarget(endpoint)],
      before,
      after: snapshotEndpoint(endpoint),
    });
    return { webhookEndpoint: endpoint, secret };
  });
}

export async function deleteWebhookEndpoint(ctx: ServiceContext, input: { id: string }): Promise<string> {
  requireScope(ctx.principal, 'webhooks:write');
  return inTransaction(ctx, async (em) => {
    const endpoints = new WebhookEndpointRepository(em);
    const endpoint = await endpoints.lock(input.id);
    await endpoints.delete(endpoint.id);
    audit(ctx, em, {
      action: 'webhook_endpoint.deleted',
      environmentId: endpoint.environmentId,
      targets: [endpointTarget(endpoint)],
      before: snapshotEndpoint(endpoint),
    });
    return endpoint.id;
  });
}

/** Sends an event to an endpoint again, as a new delivery with its own attempts. */
export async function redeliverWebhook(ctx: ServiceContext, input: { deliveryId: string }): Promise<WebhookDelivery> {
  requireScope(ctx.principal, 'webhooks:write');
  const original = await getWebhookDelivery(ctx, input.deliveryId);
  // Sending an event is reading it: an endpoint set up before its subscription was checked
  // (or by another key) must not let this key pull past events it could not read.
  requireEventReadScopes(ctx.principal, [original.eventType]);
  return inTransaction(ctx, async (em) => {
    const endpoint = await new WebhookEndpointRepository(em).lock(original.endpointId);
    if (!endpoint.enabled) {
      throw invalid('webhook.endpoint_disabled', 'Enable the endpoint before redelivering to it', ['input', 'deliveryId']);
    }
    const delivery = new WebhookDeliveryRepository(em).createDue(
      { id: newId('webhookDelivery'), endpointId: endpoint.id, environmentId: endpoint.environmentId, eventId: original.eventId, eventType: original.eventType },
      new Date(),
    );
    audit(ctx, em, {
      action: 'webhook_delivery.redelivered',
      environmentId: endpoint.environmentId,
      targets: [endpointTarget(endpoint), { type: 'webhook_delivery', id: delivery.id }, { type: 'audit_event', id: original.eventId }],
      after: { deliveryId: delivery.id, redeliveryOf: original.id, eventId: original.eventId },
    });
    return delivery;
  });
}
