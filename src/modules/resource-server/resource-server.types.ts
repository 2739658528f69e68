import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Connection } from '../../graphql/connection.js';
import { Node } from '../../graphql/node.js';
import { UserError } from '../../graphql/user-error.js';
import { Cost } from '../../graphql/cost.js';
import { MAX_SCOPES } from '../oauth-client/oauth-client.validation.js';

@ObjectType('ResourceScope', { simpleResolvers: true, description: 'A scope a resource server understands.' })
export class ResourceScopeType {
  @Field({ description: 'Its name, as requested in `scope` (an RFC 6749 scope-token).' })
  name!: string;

  @Field(() => String, { nullable: true, description: 'What it allows.' })
  description!: string | null;
}

@ObjectType('ResourceServer', {
  implements: Node,
  simpleResolvers: true,
  description: 'An API protected by the environment\'s access tokens; its identifier is their audience (`aud`).',
})
export class ResourceServerType extends Node {
  @Field(() => ID, { description: 'Environment whose tokens it accepts.' })
  environmentId!: string;

  @Field({ description: 'Display name.' })
  name!: string;

  @Field({ description: 'Its absolute URI (RFC 8707 resource indicator): the `aud` of tokens for it. Never changes.' })
  identifier!: string;

  @Cost({ maxItems: MAX_SCOPES })
  @Field(() => [ResourceScopeType], { description: 'Scopes it understands, by name.' })
  scopes!: ResourceScopeType[];

  @Field(() => String, { nullable: true, description: 'Human-readable documentation of the API (`resource_documentation`).' })
  documentationUrl!: string | null;

  @Field({ description: 'When it was created.' })
  createdAt!: Date;

  @Field({ description: 'When it last changed.' })
  updatedAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of resource servers.' })
export class ResourceServerConnection extends Connection(ResourceServerType, 'ResourceServer') {}

@InputType({ description: 'A scope of a resource server.' })
export class ResourceScopeInput {
  @Field({ description: 'Its name (an RFC 6749 scope-token, e.g. `invoices:read`).' })
  name!: string;

  @Field(() => String, { nullable: true, description: 'What it allows.' })
  description?: string | null;
}

@InputType({ description: 'A new resource server.' })
export class CreateResourceServerInput {
  @Field(() => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' })
  environmentId?: string;

  @Field({ description: 'Display name.' })
  name!: string;

  @Field({ description: 'An absolute http(s) URI without fragment, unique in the environment; it cannot be changed later.' })
  identifier!: string;

  @Field(() => [ResourceScopeInput], { nullable: true, description: 'Scopes it understands.' })
  scopes?: ResourceScopeInput[];

  @Field(() => String, { nullable: true, description: 'Documentation URL of the API.' })
  documentationUrl?: string | null;
}

@InputType({ description: 'Changes to a resource server; omitted fields stay. The identifier cannot change.' })
export class UpdateResourceServerInput {
  @Field(() => ID, { description: 'The resource server.' })
  id!: string;

  @Field({ nullable: true, description: 'New display name.' })
  name?: string;

  @Field(() => [ResourceScopeInput], { nullable: true, description: 'Replaces the scopes.' })
  scopes?: ResourceScopeInput[];

  @Field(() => String, { nullable: true, description: 'New documentation URL; `null` clears it.' })
  documentationUrl?: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'Result of a change to a resource server.' })
export class ResourceServerPayload {
  @Field(() => ResourceServerType, { nullable: true, description: 'The resource server after the change.' })
  resourceServer?: ResourceServerType;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}
