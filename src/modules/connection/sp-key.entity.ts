import { Entity, Enum, Index, ManyToOne, Property } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';
import { SsoConnection } from './connection.entity.js';

export enum SpKeyUse {
  /** Signs AuthnRequests (HTTP-Redirect binding): the newest one signs, the others stay in the metadata. */
  SIGNING = 'SIGNING',
  /** The IdP encrypts assertions to it: every one listed decrypts, so rotation has an overlap. */
  ENCRYPTION = 'ENCRYPTION',
}

/**
 * A key pair of Gatehouse as the service provider of one SAML connection, with its self-signed
 * certificate (what the IdP is given, in the SP metadata). The private key is sealed at rest,
 * bound to this row's id; it never leaves the server.
 */
@Entity({ tableName: 'sso_sp_key' })
@Index({ properties: ['connectionId', 'createdAt'] })
export class SpKey extends BaseEntity {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @ManyToOne({ entity: () => SsoConnection, mapToPk: true, fieldName: 'connection_id', deleteRule: 'cascade' })
  connectionId!: string;

  @Enum({ items: () => SpKeyUse, nativeEnumName: 'sso_sp_key_use' })
  use!: SpKeyUse;

  /** PEM. */
  @Property({ type: 'text' })
  certificate!: string;

  /** SHA-256 of the certificate's DER, colon-separated hex. */
  @Property({ type: 'text' })
  fingerprint!: string;

  @Property({ type: 'datetime' })
  notAfter!: Date;

  /** PKCS#8 PEM, sealed (SecretBox) and bound to the row id. */
  @Property({ type: 'text' })
  privateKeySealed!: string;
}
