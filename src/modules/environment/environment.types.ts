import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Connection } from '../../graphql/connection.js';
import { Node } from '../../graphql/node.js';
import { UserError } from '../../graphql/user-error.js';
import { ClientRegistrationPolicy, EnvironmentKind, SignUpPolicy } from './environment.entity.js';

registerEnumType(EnvironmentKind, {
  name: 'EnvironmentKind',
  description: 'Whether an environment holds test or live data.',
  valuesConfig: {
    DEVELOPMENT: { description: 'Test data; its pinned keys start with `gh_test_`.' },
    PRODUCTION: { description: 'Live data.' },
  },
});

registerEnumType(ClientRegistrationPolicy, {
  name: 'ClientRegistrationPolicy',
  description: 'Who may register OAuth clients through dynamic client registration (RFC 7591).',
  valuesConfig: {
    OFF: { description: 'Nobody: clients are created through this API only.' },
    INITIAL_ACCESS_TOKEN: { description: 'Whoever presents the environment\'s initial access token.' },
    OPEN: { description: 'Anyone (registered clients may then ask only for the registration scopes).' },
  },
});

registerEnumType(SignUpPolicy, {
  name: 'SignUpPolicy',
  description: 'Who may become a user of an environment by signing in.',
  valuesConfig: {
    OPEN: { description: 'Anyone who proves their email address.' },
    INVITE_ONLY: { description: 'Only people who already are users (created through this API or invited).' },
  },
});

@ObjectType('Environment', { simpleResolvers: true,
  implements: Node,
  description: 'An isolated set of tenant data (organizations, users, roles) with its own keys and settings.',
})
export class EnvironmentType extends Node {
  @Field(() => ID, { description: 'Workspace this environment belongs to.' })
  workspaceId!: string;

  @Field({ description: 'Display name.' })
  name!: string;

  @Field({ description: 'URL-safe name, unique in the workspace.' })
  slug!: string;

  @Field(() => EnvironmentKind, { description: 'Development or production.' })
  kind!: EnvironmentKind;

  @Field(() => Int, { nullable: true, description: 'Audit events are kept this many days, then pruned (the hash chain stays verifiable); null keeps them forever.' })
  auditRetentionDays!: number | null;

  @Field(() => ClientRegistrationPolicy, { description: 'Who may register OAuth clients dynamically.' })
  clientRegistrationPolicy!: ClientRegistrationPolicy;

  @Field(() => SignUpPolicy, { description: 'Who may become a user by signing in.' })
  signUpPolicy!: SignUpPolicy;

  @Field(() => String, { nullable: true, description: 'An https image the hosted sign-in pages show above their title.' })
  logoUrl!: string | null;

  @Field(() => Int, { description: 'A browser session unused this long (seconds) ends.' })
  sessionIdleTtl!: number;

  @Field(() => Int, { description: 'A browser session ends this long (seconds) after sign-in, however it is used.' })
  sessionAbsoluteTtl!: number;

  @Field(() => [String], { description: 'Scopes a dynamically registered client may ask for; empty lets it ask for none.' })
  registrationScopes!: string[];

  @Field({ description: 'When it was created.' })
  createdAt!: Date;

  @Field({ description: 'When it last changed.' })
  updatedAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of environments.' })
export class EnvironmentConnection extends Connection(EnvironmentType, 'Environment') {}

@InputType({ description: 'A new environment.' })
export class CreateEnvironmentInput {
  @Field({ description: 'Display name.' })
  name!: string;

  @Field({ description: 'URL-safe name, unique in the workspace.' })
  slug!: string;

  @Field(() => EnvironmentKind, { description: 'Development or production.' })
  kind!: EnvironmentKind;
}

@InputType({ description: 'Changes to an environment; omitted fields stay as they are.' })
export class UpdateEnvironmentInput {
  @Field(() => ID, { description: 'The environment to change.' })
  id!: string;

  @Field({ nullable: true, description: 'New display name.' })
  name?: string;

  @Field(() => Int, {
    nullable: true,
    description: 'Days to keep audit events (1–3650); `null` keeps them forever. Fewer days than now (or any number after `null`) needs `audit:write`.',
  })
  auditRetentionDays?: number | null;

  @Field(() => SignUpPolicy, { nullable: true, description: 'Who may become a user by signing in.' })
  signUpPolicy?: SignUpPolicy | null;

  @Field(() => String, { nullable: true, description: 'An https image URL for the hosted pages (at most 2048 characters); an empty string removes it.' })
  logoUrl?: string | null;

  @Field(() => Int, { nullable: true, description: 'Session idle lifetime in seconds, 300 to 30 days.' })
  sessionIdleTtl?: number | null;

  @Field(() => Int, { nullable: true, description: 'Session absolute lifetime in seconds, at least the idle one, up to 365 days.' })
  sessionAbsoluteTtl?: number | null;
}

@InputType({ description: 'The environment to delete, with all of its data.' })
export class DeleteEnvironmentInput {
  @Field(() => ID, { description: 'The environment to delete.' })
  id!: string;
}

@ObjectType({ simpleResolvers: true, description: 'Result of creating or updating an environment.' })
export class EnvironmentPayload {
  @Field(() => EnvironmentType, { nullable: true, description: 'The environment after the change.' })
  environment?: EnvironmentType;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}

@ObjectType({ simpleResolvers: true, description: 'Result of `deleteEnvironment`.' })
export class DeleteEnvironmentPayload {
  @Field(() => ID, { nullable: true, description: 'Id of the deleted environment.' })
  deletedId?: string;

  @Field(() => [UserError], { description: 'Why the deletion was refused, if it was.' })
  userErrors!: UserError[];
}

@InputType({ description: 'Narrows a list of environments.' })
export class EnvironmentFilter {
  @Field(() => EnvironmentKind, { nullable: true, description: 'Only environments of this kind.' })
  kind?: EnvironmentKind;
}

@InputType({ description: 'Changes to an environment\'s dynamic client registration; omitted fields stay as they are.' })
export class UpdateClientRegistrationPolicyInput {
  @Field(() => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' })
  environmentId?: string;

  @Field(() => ClientRegistrationPolicy, { nullable: true, description: 'Who may register clients. Leaving INITIAL_ACCESS_TOKEN discards the token.' })
  policy?: ClientRegistrationPolicy;

  @Field(() => [String], { nullable: true, description: 'Replaces the scopes registered clients may ask for.' })
  registrationScopes?: string[];

  @Field({
    nullable: true,
    description: 'Issue a new initial access token, replacing any previous one (only under INITIAL_ACCESS_TOKEN); it is returned once.',
  })
  issueInitialAccessToken?: boolean;
}

@ObjectType({ simpleResolvers: true, description: 'Result of `updateClientRegistrationPolicy`.' })
export class ClientRegistrationPolicyPayload {
  @Field(() => EnvironmentType, { nullable: true, description: 'The environment after the change.' })
  environment?: EnvironmentType;

  @Field(() => String, { nullable: true, description: 'The new initial access token (`ghiat_…`), when one was issued. Shown only this once.' })
  initialAccessToken?: string;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}
