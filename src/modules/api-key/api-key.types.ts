import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Connection } from '../../graphql/connection.js';
import { Node } from '../../graphql/node.js';
import { UserError } from '../../graphql/user-error.js';

@ObjectType('ApiKey', { simpleResolvers: true, implements: Node, description: 'A management API credential. The key itself is shown only once, at creation.' })
export class ApiKeyType extends Node {
  @Field({ description: 'What the key is for.' })
  name!: string;

  @Field({ description: 'The first characters of the key, to recognise it (`gh_live_AbCd1234`).' })
  prefix!: string;

  @Field(() => ID, { nullable: true, description: 'The one environment the key reaches; null when it reaches the whole workspace.' })
  environmentId!: string | null;

  @Field(() => [String], { description: 'Granted scopes, e.g. `organizations:write`; `*` grants everything.' })
  scopes!: string[];

  @Field(() => Date, { nullable: true, description: 'When the key was last used (to the minute).' })
  lastUsedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When the key stops working, if ever.' })
  expiresAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When the key was revoked, if it was.' })
  revokedAt!: Date | null;

  @Field({ description: 'When it was created.' })
  createdAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of API keys.' })
export class ApiKeyConnection extends Connection(ApiKeyType, 'ApiKey') {}

@InputType({ description: 'A new API key.' })
export class CreateApiKeyInput {
  @Field({ description: 'What the key is for.' })
  name!: string;

  @Field(() => ID, {
    nullable: true,
    description: 'Pin the key to one environment. Keys made by a pinned key are always pinned to its environment.',
  })
  environmentId?: string | null;

  @Field(() => [String], { description: 'Scopes to grant; only scopes the calling key holds.' })
  scopes!: string[];

  @Field(() => Date, { nullable: true, description: 'When the key stops working.' })
  expiresAt?: Date | null;
}

@InputType({ description: 'The key to revoke.' })
export class RevokeApiKeyInput {
  @Field(() => ID, { description: 'Id of the key.' })
  id!: string;
}

@ObjectType({ simpleResolvers: true, description: 'Result of `createApiKey`.' })
export class CreateApiKeyPayload {
  @Field(() => ApiKeyType, { nullable: true, description: 'The new key\'s record.' })
  apiKey?: ApiKeyType;

  @Field(() => String, { nullable: true, description: 'The key. Shown only this once; store it now.' })
  secret?: string;

  @Field(() => [UserError], { description: 'Why the key was not created, if it was not.' })
  userErrors!: UserError[];
}

@ObjectType({ simpleResolvers: true, description: 'Result of `revokeApiKey`.' })
export class RevokeApiKeyPayload {
  @Field(() => ApiKeyType, { nullable: true, description: 'The revoked key.' })
  apiKey?: ApiKeyType;

  @Field(() => [UserError], { description: 'Why the key was not revoked, if it was not.' })
  userErrors!: UserError[];
}

@ObjectType('Viewer', { simpleResolvers: true, description: 'The caller: an API key and what it may do.' })
export class ViewerType {
  @Field(() => ApiKeyType, { description: 'The calling API key.' })
  apiKey!: ApiKeyType;

  @Field(() => ID, { description: 'Workspace of the key.' })
  workspaceId!: string;

  @Field(() => [ID], { description: 'Environments the key reaches.' })
  environmentIds!: string[];

  @Field(() => [String], { description: 'Scopes the key holds.' })
  scopes!: string[];
}

@InputType({ description: 'Narrows a list of API keys; all given conditions must hold.' })
export class ApiKeyFilterInput {
  @Field(() => ID, { nullable: true, description: 'Keys pinned to this environment.' })
  environmentId?: string;

  @Field({ nullable: true, description: 'Only revoked (true) or only usable (false) keys.' })
  revoked?: boolean;
}
