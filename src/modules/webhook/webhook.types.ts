import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Connection } from '../../graphql/connection.js';
import { Node } from '../../graphql/node.js';
import { UserError } from '../../graphql/user-error.js';
import { DeliveryStatus } from './webhook.entity.js';

registerEnumType(DeliveryStatus, {
  name: 'WebhookDeliveryStatus',
  description: 'Where a delivery stands.',
  valuesConfig: {
    PENDING: { description: 'Not yet accepted by the endpoint; will be (re)tried.' },
    SUCCEEDED: { description: 'The endpoint answered 2xx.' },
    FAILED: { description: 'Every retry failed (or the endpoint was disabled); see the attempts.' },
  },
});

@ObjectType('WebhookEndpoint', { implements: Node, simpleResolvers: true, description: 'A URL that receives an environment\'s audit events, signed per the Standard Webhooks spec.' })
export class WebhookEndpointType extends Node {
  @Field(() => ID, { description: 'Environment whose events it receives.' })
  environmentId!: string;

  @Field({ description: 'Where deliveries are POSTed.' })
  url!: string;

  @Field(() => String, { nullable: true, description: 'What it is for.' })
  description!: string | null;

  @Field(() => [String], { description: 'Actions delivered (exact or `x.*`); empty delivers every event.' })
  eventTypes!: string[];

  @Field({ description: 'Whether events are delivered.' })
  enabled!: boolean;

  @Field(() => String, { nullable: true, description: 'Why Gatehouse disabled it, if it did (sustained failure).' })
  disabledReason!: string | null;

  @Field({ description: 'First characters of the signing secret, to recognise it.' })
  secretPrefix!: string;

  @Field(() => Date, { nullable: true, description: 'Since when every attempt has failed; null after a success.' })
  failingSince!: Date | null;

  @Field({ description: 'When it was created.' })
  createdAt!: Date;

  @Field({ description: 'When it last changed.' })
  updatedAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of webhook endpoints.' })
export class WebhookEndpointConnection extends Connection(WebhookEndpointType, 'WebhookEndpoint') {}

@ObjectType('WebhookAttempt', { simpleResolvers: true, description: 'One HTTP attempt of a delivery.' })
export class WebhookAttemptType {
  @Field({ description: 'When it was made.' })
  attemptedAt!: Date;

  @Field(() => Int, { description: 'How long it took, in milliseconds.' })
  durationMs!: number;

  @Field(() => Int, { nullable: true, description: 'HTTP status answered, if any.' })
  statusCode!: number | null;

  @Field(() => String, { nullable: true, description: 'Why it failed without a status (timeout, refused target, …).' })
  error!: string | null;
}

@ObjectType('WebhookDelivery', { implements: Node, simpleResolvers: true, description: 'One audit event sent to one endpoint, with its attempts.' })
export class WebhookDeliveryType extends Node {
  @Field(() => ID, { description: 'The endpoint.' })
  endpointId!: string;

  @Field(() => ID, { description: 'The audit event delivered (also the `data.id` of the payload).' })
  eventId!: string;

  @Field({ description: 'Its action, the payload\'s `type`.' })
  eventType!: string;

  @Field(() => DeliveryStatus, { description: 'Where it stands.' })
  status!: DeliveryStatus;

  @Field(() => Int, { description: 'Attempts made so far.' })
  attempts!: number;

  @Field({ description: 'When the next attempt is due (while PENDING).' })
  nextAttemptAt!: Date;

  @Field(() => Date, { nullable: true, description: 'When the last attempt was made.' })
  lastAttemptAt!: Date | null;

  @Field(() => Int, { nullable: true, description: 'HTTP status of the last attempt.' })
  lastStatusCode!: number | null;

  @Field(() => String, { nullable: true, description: 'Error of the last attempt.' })
  lastError!: string | null;

  @Field({ description: 'When it was created (with the event, or by a redelivery).' })
  createdAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of webhook deliveries.' })
export class WebhookDeliveryConnection extends Connection(WebhookDeliveryType, 'WebhookDelivery') {}

@InputType({ description: 'A new webhook endpoint.' })
export class CreateWebhookEndpointInput {
  @Field(() => ID, { nullable: true, description: 'Environment whose events to send; defaults to the key\'s.' })
  environmentId?: string;

  @Field({ description: 'An https URL (http only when private targets are allowed).' })
  url!: string;

  @Field(() => String, { nullable: true, description: 'What it is for.' })
  description?: string | null;

  @Field(() => [String], { nullable: true, description: 'Actions to send (exact or `x.*`); empty or omitted sends every event.' })
  eventTypes?: string[];

  @Field({ nullable: true, description: 'Whether to deliver (default true).' })
  enabled?: boolean;
}

@InputType({ description: 'Changes to a webhook endpoint; omitted fields stay.' })
export class UpdateWebhookEndpointInput {
  @Field(() => ID, { description: 'The endpoint.' })
  id!: string;

  @Field({ nullable: true, description: 'New URL.' })
  url?: string;

  @Field(() => String, { nullable: true, description: 'New description; `null` clears it.' })
  description?: string | null;

  @Field(() => [String], { nullable: true, description: 'Replaces the event types.' })
  eventTypes?: string[];

  @Field({ nullable: true, description: 'Enable or disable; enabling clears a disable reason.' })
  enabled?: boolean;
}

@InputType({ description: 'Identifies a webhook endpoint.' })
export class WebhookEndpointIdInput {
  @Field(() => ID, { description: 'The endpoint.' })
  id!: string;
}

@InputType({ description: 'A delivery to send again.' })
export class RedeliverWebhookInput {
  @Field(() => ID, { description: 'The delivery whose event to send again, as a new delivery.' })
  deliveryId!: string;
}

@ObjectType({ simpleResolvers: true, description: 'Result of creating an endpoint or rotating its secret.' })
export class WebhookEndpointSecretPayload {
  @Field(() => WebhookEndpointType, { nullable: true, description: 'The endpoint.' })
  webhookEndpoint?: WebhookEndpointType;

  @Field(() => String, { nullable: true, description: 'The signing secret (`whsec_…`). Shown only this once.' })
  secret?: string;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}

@ObjectType({ simpleResolvers: true, description: 'Result of a change to a webhook endpoint.' })
export class WebhookEndpointPayload {
  @Field(() => WebhookEndpointType, { nullable: true, description: 'The endpoint after the change.' })
  webhookEndpoint?: WebhookEndpointType;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}

@ObjectType({ simpleResolvers: true, description: 'Result of `redeliverWebhook`.' })
export class RedeliverWebhookPayload {
  @Field(() => WebhookDeliveryType, { nullable: true, description: 'The new delivery.' })
  delivery?: WebhookDeliveryType;

  @Field(() => [UserError], { description: 'Why it was refused, if it was.' })
  userErrors!: UserError[];
}
