import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Connection } from '../../graphql/connection.js';
import { Node } from '../../graphql/node.js';
import { JSONObjectScalar } from '../../graphql/scalars.js';
import { UserError } from '../../graphql/user-error.js';

@ObjectType('TrustedIssuer', {
  implements: Node,
  simpleResolvers: true,
  description: 'An external token issuer whose tokens may be exchanged (RFC 8693) for this environment\'s.',
})
export class TrustedIssuerType extends Node {
  @Field(() => ID, { description: 'Environment that trusts it.' })
  environmentId!: string;

  @Field({ description: 'Display name.' })
  name!: string;

  @Field({ description: 'Its `iss`, compared exactly.' })
  issuer!: string;

  @Field(() => JSONObjectScalar, { nullable: true, description: 'Its public keys, as a JWK Set (when not fetched from jwksUri).' })
  jwks!: Record<string, unknown> | null;

  @Field(() => String, { nullable: true, description: 'Where its public keys are fetched from (when not given as jwks).' })
  jwksUri!: string | null;

  @Field(() => [String], { description: 'Audiences its tokens must carry (one of them) to be accepted.' })
  audiences!: string[];

  @Field({ description: 'When it was created.' })
  createdAt!: Date;

  @Field({ description: 'When it last changed.' })
  updatedAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of trusted issuers.' })
export class TrustedIssuerConnection extends Connection(TrustedIssuerType, 'TrustedIssuer') {}

@InputType({ description: 'A new trusted issuer. Give exactly one of jwks and jwksUri.' })
export class CreateTrustedIssuerInput {
  @Field(() => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' })
  environmentId?: string;

  @Field({ description: 'Display name.' })
  name!: string;

  @Field({ description: 'Its `iss`: an absolute http(s) URI, unique in the environment.' })
  issuer!: string;

  @Field(() => JSONObjectScalar, { nullable: true, description: 'Its public keys, as a JWK Set.' })
  jwks?: Record<string, unknown> | null;

  @Field(() => String, { nullable: true, description: 'An https URL serving its JWK Set.' })
  jwksUri?: string | null;

  @Field(() => [String], { description: 'Audiences its tokens must carry (one of them); typically this environment\'s issuer.' })
  audiences!: string[];
}

@InputType({ description: 'Changes to a trusted issuer; omitted fields stay. Giving jwks or jwksUri replaces the other.' })
export class UpdateTrustedIssuerInput {
  @Field(() => ID, { description: 'The trusted issuer.' })
  id!: string;

  @Field({ nullable: true, description: 'New display name.' })
  name?: string;

  @Field({ nullable: true, description: 'New `iss`.' })
  issuer?: string;

  @Field(() => JSONObjectScalar, { nullable: true, description: 'New JWK Set (clears jwksUri).' })
  jwks?: Record<string, unknown> | null;

  @Field(() => String, { nullable: true, description: 'New JWKS URL (clears jwks).' })
  jwksUri?: string | null;

  @Field(() => [String], { nullable: true, description: 'Replaces the accepted audiences.' })
  audiences?: string[];
}

@ObjectType({ simpleResolvers: true, description: 'Result of a change to a trusted issuer.' })
export class TrustedIssuerPayload {
  @Field(() => TrustedIssuerType, { nullable: true, description: 'The trusted issuer after the change.' })
  trustedIssuer?: TrustedIssuerType;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}
