import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { Node } from '../../graphql/node.js';
import { UserError } from '../../graphql/user-error.js';
import { SpKeyUse } from './sp-key.entity.js';

registerEnumType(SpKeyUse, {
  name: 'SsoSpKeyUse',
  description: 'What a key pair of Gatehouse as a SAML service provider is for.',
  valuesConfig: {
    SIGNING: { description: 'Signs AuthnRequests (the newest signs; all are listed in the SP metadata).' },
    ENCRYPTION: { description: 'The IdP encrypts assertions to it (all listed decrypt, for rotation).' },
  },
});

@ObjectType('SsoSpKey', { implements: Node, description: 'A key pair of Gatehouse as the SAML service provider of a connection. The private key never leaves the server.' })
export class SpKeyNode extends Node {
  @Field(() => ID, { description: 'The connection.' })
  connectionId!: string;

  @Field(() => SpKeyUse, { description: 'What it is for.' })
  use!: SpKeyUse;

  @Field({ description: 'Its self-signed certificate, PEM: what the IdP is given (it is also in the SP metadata).' })
  certificate!: string;

  @Field({ description: 'SHA-256 fingerprint of the certificate (colon-separated hex).' })
  fingerprint!: string;

  @Field({ description: 'When the certificate expires.' })
  notAfter!: Date;

  @Field({ description: 'When it was made.' })
  createdAt!: Date;
}

@InputType({ description: 'A new SP key pair for a SAML connection.' })
export class CreateSsoSpKeyInput {
  @Field(() => ID, { description: 'The SAML connection.' })
  connectionId!: string;

  @Field(() => SpKeyUse, { description: 'Signing (signed AuthnRequests) or encryption (encrypted assertions).' })
  use!: SpKeyUse;
}

@ObjectType({ simpleResolvers: true, description: 'Result of making an SP key.' })
export class SsoSpKeyPayload {
  @Field(() => SpKeyNode, { nullable: true, description: 'The new key.' })
  spKey?: SpKeyNode;

  @Field(() => [UserError], { description: 'Why it was refused, if it was.' })
  userErrors!: UserError[];
}
