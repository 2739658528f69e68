import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { Connection } from '../../graphql/connection.js';
import { Node } from '../../graphql/node.js';
import { UserError } from '../../graphql/user-error.js';
import { SocialProvider } from './social-connection.entity.js';

registerEnumType(SocialProvider, {
  name: 'SocialProvider',
  description: 'Whose accounts a social connection signs people in with.',
  valuesConfig: {
    GOOGLE: { description: 'Google accounts (OpenID Connect, https://accounts.google.com).' },
    MICROSOFT: {
      description:
        'Microsoft work, school and personal accounts (OpenID Connect, https://login.microsoftonline.com/common/v2.0; a tenant\'s issuer restricts it to that tenant). Work and school addresses count as verified only with the optional claim `xms_edov`.',
    },
    GITHUB: { description: 'GitHub accounts (OAuth 2.0 and the user API: the primary, verified email).' },
    GITLAB: { description: 'GitLab accounts (OpenID Connect, https://gitlab.com, or a self-managed instance as the issuer).' },
    GENERIC_OIDC: { description: 'Any OpenID Provider, by its issuer.' },
    GENERIC_OAUTH2: { description: 'Any OAuth 2.0 server whose userinfo endpoint answers OpenID Connect claims (`sub` or `id`, `email`, `email_verified`).' },
  },
});

@ObjectType('SocialConnection', {
  implements: Node,
  description: 'A "Continue with …" button of the environment\'s hosted sign-in page: people sign in with an account they have, which proves their email address.',
})
export class SocialConnectionNode extends Node {
  @Field(() => ID, { description: 'Environment.' })
  environmentId!: string;

  @Field(() => SocialProvider, { description: 'Whose accounts.' })
  provider!: SocialProvider;

  @Field({ description: 'What the button says after "Continue with".' })
  name!: string;

  @Field({ description: 'Whether the button is shown and its sign-ins accepted.' })
  enabled!: boolean;

  @Field({ description: 'The client id the provider issued.' })
  clientId!: string;

  @Field({ description: 'The redirect URI (callback) to register with the provider.' })
  redirectUri!: string;

  @Field(() => [String], { description: 'Scopes asked for (the connection\'s, else the preset\'s).' })
  scopes!: string[];

  @Field(() => String, { nullable: true, description: 'OpenID Connect providers: the issuer (discovery).' })
  issuer!: string | null;

  @Field(() => String, { nullable: true, description: 'OAuth 2.0 providers: the authorization endpoint.' })
  authorizationUrl!: string | null;

  @Field(() => String, { nullable: true, description: 'OAuth 2.0 providers: the token endpoint.' })
  tokenUrl!: string | null;

  @Field(() => String, { nullable: true, description: 'OAuth 2.0 providers: where the profile is read (GitHub: its `/user`, with `/user/emails` beside it).' })
  userinfoUrl!: string | null;

  @Field({ description: 'Where to register the redirect URI at the provider.' })
  setupHint!: string;

  @Field({ description: 'When it was created.' })
  createdAt!: Date;

  @Field({ description: 'When it last changed.' })
  updatedAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of social connections.' })
export class SocialConnectionConnection extends Connection(SocialConnectionNode, 'SocialConnection') {}

@InputType({ description: 'Social connection settings; omitted fields stay as they are (on creation: the preset\'s).' })
class SocialConnectionSettingsInput {
  @Field(() => String, { nullable: true, description: 'What the button says after "Continue with" (at most 60 characters); the provider\'s name by default.' })
  name?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Shown and accepted; true by default.' })
  enabled?: boolean | null;

  @Field(() => [String], { nullable: true, description: 'Scopes to ask for, replacing the connection\'s; `null` or `[]`: the preset\'s. OpenID Connect providers always get `openid`.' })
  scopes?: string[] | null;

  @Field(() => String, { nullable: true, description: 'OpenID Connect providers: the issuer, when not the preset\'s (https; http only on localhost). `null`: the preset\'s.' })
  issuer?: string | null;

  @Field(() => String, { nullable: true, description: 'OAuth 2.0 providers: the authorization endpoint, when not the preset\'s. `null`: the preset\'s.' })
  authorizationUrl?: string | null;

  @Field(() => String, { nullable: true, description: 'OAuth 2.0 providers: the token endpoint, when not the preset\'s. `null`: the preset\'s.' })
  tokenUrl?: string | null;

  @Field(() => String, { nullable: true, description: 'OAuth 2.0 providers: the profile endpoint, when not the preset\'s. `null`: the preset\'s.' })
  userinfoUrl?: string | null;
}

@InputType({ description: 'A new social connection.' })
export class CreateSocialConnectionInput extends SocialConnectionSettingsInput {
  @Field(() => ID, { nullable: true, description: 'The environment; defaults to the key\'s.' })
  environmentId?: string | null;

  @Field(() => SocialProvider, { description: 'Whose accounts.' })
  provider!: SocialProvider;

  @Field({ description: 'The client id the provider issued.' })
  clientId!: string;

  @Field({ description: 'The client secret the provider issued: sealed at rest, never shown again.' })
  clientSecret!: string;
}

@InputType({ description: 'Changes to a social connection (its provider stays).' })
export class UpdateSocialConnectionInput extends SocialConnectionSettingsInput {
  @Field(() => ID, { description: 'The connection.' })
  id!: string;

  @Field(() => String, { nullable: true, description: 'A new client id.' })
  clientId?: string | null;

  @Field(() => String, { nullable: true, description: 'A new client secret (sealed at rest, never shown again).' })
  clientSecret?: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'Result of a change to a social connection.' })
export class SocialConnectionPayload {
  @Field(() => SocialConnectionNode, { nullable: true, description: 'The connection after the change.' })
  socialConnection?: SocialConnectionNode;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}
