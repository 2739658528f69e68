import { Entity, Index, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';
import { SsoConnection } from './connection.entity.js';

/** Who the IdP said signed in, kept between the ACS and the browser's return to its flow. */
export interface SsoIdentity {
  email: string;
  /** Whether the email is in a verified domain of the connection's organization (else a guest's). */
  inVerifiedDomain: boolean;
  givenName: string | null;
  familyName: string | null;
  nameId: string;
  /** Groups the IdP says the person is in (the connection's group → role mapping reads them). */
  groups: string[];
  /** Values for the environment's custom attributes, by key (the connection's mapping). */
  custom: Record<string, string>;
  /** Every attribute (SAML) or claim (OIDC) as the IdP sent it, kept on the identity link. */
  raw: Record<string, string[]>;
}

/**
 * A SAML AuthnRequest Gatehouse sent, kept server-side: the IdP's answer arrives as a
 * cross-site POST to the ACS, which carries no cookie (SameSite), so the request is found by
 * the response's InResponseTo instead, used once, and only then handed back to the browser
 * that started the flow (the `continue` step checks the flow's browser binding).
 */
@Entity({ tableName: 'saml_request' })
@Index({ properties: ['expiresAt'] })
// A flow's pending requests are counted at every start: without it, every request row is read.
@Index({ properties: ['flowId'] })
export class SamlRequest extends BaseEntity<'answeredAt' | 'identity' | 'answerTokenHash' | 'completedAt' | 'traceId'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @ManyToOne({ entity: () => SsoConnection, mapToPk: true, fieldName: 'connection_id', deleteRule: 'cascade', index: true })
  connectionId!: string;

  /** The sign-in flow it authenticates for. */
  @Property({ type: 'text' })
  flowId!: string;

  /** The AuthnRequest's ID, which the response names in InResponseTo. */
  @Property({ type: 'text' })
  @Unique()
  requestId!: string;

  /** The sign-in trace of the attempt (its id; the trace may be gone before the request). */
  @Property({ type: 'text', nullable: true })
  traceId: string | null = null;

  @Property({ type: 'datetime' })
  expiresAt!: Date;

  /** When a valid response answered it: any later response to it is refused. */
  @Property({ type: 'datetime', nullable: true })
  answeredAt: Date | null = null;

  @Property({ type: 'jsonb', nullable: true })
  identity: SsoIdentity | null = null;

  /**
   * SHA-256 of the one-time token the ACS put in the browser's way back (`continue`): the
   * identity goes only to a browser that both started the flow (its cookie) and brought the
   * IdP's answer (this token). Without it, a victim's browser made to answer an attacker's
   * forwarded AuthnRequest would hand the victim's identity to the attacker's flow.
   */
  @Property({ type: 'text', nullable: true })
  answerTokenHash: string | null = null;

  /** When the browser came back and signed in with it: once only. */
  @Property({ type: 'datetime', nullable: true })
  completedAt: Date | null = null;
}
