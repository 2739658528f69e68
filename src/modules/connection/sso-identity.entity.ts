import { Entity, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';
import { User } from '../user/user.entity.js';
import { SsoConnection } from './connection.entity.js';

/**
 * Who a connection's IdP says a user is (its NameID), linked to the user it signed in. The
 * next sign-in through the connection finds the user by this link, not by the email the IdP
 * sends: an IdP may only claim, by email, addresses of its organization's verified domains,
 * and a guest it vouched for once stays the one user it is linked to.
 */
@Entity({ tableName: 'sso_identity' })
@Unique({ properties: ['connectionId', 'subject'] })
export class SsoIdentityLink extends BaseEntity<'attributes' | 'lastSignedInAt'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @ManyToOne({ entity: () => SsoConnection, mapToPk: true, fieldName: 'connection_id', deleteRule: 'cascade' })
  connectionId!: string;

  /** The IdP's NameID for the person. */
  @Property({ type: 'text' })
  subject!: string;

  @ManyToOne({ entity: () => User, mapToPk: true, fieldName: 'user_id', deleteRule: 'cascade', index: true })
  userId!: string;

  /** The attributes (SAML) or claims (OIDC) of the latest sign-in, as the IdP sent them. */
  @Property({ type: 'jsonb', default: '{}' })
  attributes: Record<string, string[]> = {};

  @Property({ type: 'datetime', nullable: true })
  lastSignedInAt: Date | null = null;
}
