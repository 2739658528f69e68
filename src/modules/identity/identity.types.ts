import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { JSONObjectScalar } from '../../graphql/scalars.js';

export enum UserIdentityKind {
  SSO = 'SSO',
  SOCIAL = 'SOCIAL',
}

registerEnumType(UserIdentityKind, {
  name: 'UserIdentityKind',
  description: 'Where an identity of a user comes from.',
  valuesConfig: {
    SSO: { description: 'An organization\'s SSO connection (SAML or OpenID Connect): `connectionId` is an `SsoConnection`.' },
    SOCIAL: { description: 'A social connection of the environment: `connectionId` is a `SocialConnection`.' },
  },
});

@ObjectType('UserIdentity', { simpleResolvers: true, description: 'An account at an identity provider that signs the user in, linked at their first sign-in through it.' })
export class UserIdentityType {
  @Field(() => UserIdentityKind, { description: 'SSO or social.' })
  kind!: UserIdentityKind;

  @Field(() => ID, { description: 'The connection it signs in through.' })
  connectionId!: string;

  @Field({ description: 'The provider\'s id for the account (SAML NameID, OpenID Connect `sub`, GitHub\'s user id).' })
  subject!: string;

  @Field(() => JSONObjectScalar, {
    description: 'What the provider sent at the latest sign-in, as it sent it: SAML attributes (name → values), OpenID Connect claims, or the profile API\'s fields. Never a token.',
  })
  rawAttributes!: Record<string, unknown>;

  @Field(() => Date, { nullable: true, description: 'The latest sign-in through it.' })
  lastSignedInAt!: Date | null;

  @Field({ description: 'When it was linked.' })
  createdAt!: Date;
}
