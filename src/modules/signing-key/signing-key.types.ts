import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Node } from '../../graphql/node.js';
import { JSONObjectScalar } from '../../graphql/scalars.js';
import { UserError } from '../../graphql/user-error.js';
import { SigningKeyState } from './signing-key.service.js';

/** The GraphQL face of SIGNING_ALGORITHMS (crypto/signing-keys.ts). */
export enum SigningAlgorithmEnum {
  ES256 = 'ES256',
  RS256 = 'RS256',
  EdDSA = 'EdDSA',
}
registerEnumType(SigningAlgorithmEnum, {
  name: 'SigningAlgorithm',
  description: 'Algorithm of a token signing key.',
  valuesConfig: {
    ES256: { description: 'ECDSA with P-256 and SHA-256 (the default).' },
    RS256: { description: 'RSASSA-PKCS1-v1_5 with a 2048-bit key and SHA-256.' },
    EdDSA: { description: 'Ed25519.' },
  },
});

registerEnumType(SigningKeyState, {
  name: 'SigningKeyState',
  description: 'Where a signing key stands in its rotation.',
  valuesConfig: {
    NEXT: { description: 'Published in the JWKS, not yet signing.' },
    ACTIVE: { description: 'Signing new tokens.' },
    RETIRED: { description: 'No longer signing; published until the last tokens it signed have expired.' },
    EXPIRED: { description: 'No longer published.' },
    REVOKED: { description: 'Revoked in an emergency: unpublished at once, its tokens rejected.' },
  },
});

@ObjectType('SigningKey', { implements: Node, simpleResolvers: true, description: 'A key that signs an environment\'s access tokens. Its private half never leaves Gatehouse.' })
export class SigningKeyType extends Node {
  @Field(() => ID, { description: 'Environment whose tokens it signs.' })
  environmentId!: string;

  @Field({ description: 'Its key id (`kid`): the RFC 7638 thumbprint of the public key.' })
  kid!: string;

  @Field(() => SigningAlgorithmEnum, { description: 'Its algorithm.' })
  algorithm!: SigningAlgorithmEnum;

  @Field(() => JSONObjectScalar, { description: 'The public JWK, as published in the JWKS.' })
  publicJwk!: Record<string, unknown>;

  @Field({ description: 'When it starts (or started) signing.' })
  activatesAt!: Date;

  @Field(() => Date, { nullable: true, description: 'When a newer key takes (or took) over signing.' })
  supersededAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When it was revoked.' })
  revokedAt!: Date | null;

  @Field({ description: 'When it was created.' })
  createdAt!: Date;
}

@InputType({ description: 'A key rotation.' })
export class RotateSigningKeyInput {
  @Field(() => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' })
  environmentId?: string;

  @Field(() => SigningAlgorithmEnum, { nullable: true, description: 'Algorithm of the new key; ES256 when omitted.' })
  algorithm?: SigningAlgorithmEnum;

  @Field(() => Int, {
    nullable: true,
    description: 'Seconds between publishing the new key and signing with it (0–2592000; 900 when omitted), so that verifiers caching the JWKS see it first.',
  })
  activateAfterSeconds?: number;
}

@InputType({ description: 'Identifies a signing key.' })
export class SigningKeyIdInput {
  @Field(() => ID, { description: 'The signing key.' })
  id!: string;
}

@ObjectType({ simpleResolvers: true, description: 'Result of a change to signing keys.' })
export class SigningKeyPayload {
  @Field(() => SigningKeyType, { nullable: true, description: 'The new key (rotation) or the revoked key (revocation).' })
  signingKey?: SigningKeyType;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}
