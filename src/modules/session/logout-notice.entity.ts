import { Entity, Index, ManyToOne, Property } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';
import { OAuthClient } from '../oauth-client/oauth-client.entity.js';

/**
 * An application to be told that a session ended (OpenID Connect Back-Channel Logout 1.0): the
 * outbox row, written in the transaction that ends the session, whatever ended it (sign-out,
 * revocation, suspension, a removed membership), and sent, retried, by the logout workers of any
 * process. Deleted once delivered, refused or given up on; each outcome is an audit event.
 */
@Entity({ tableName: 'logout_notice' })
@Index({ properties: ['nextAttemptAt'] })
export class LogoutNotice extends BaseEntity<'attempts' | 'lockedUntil' | 'lastOutcome'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  /** The application told; a deleted application is told nothing. */
  @ManyToOne({ entity: () => OAuthClient, mapToPk: true, fieldName: 'client_id', deleteRule: 'cascade', index: true })
  clientId!: string;

  /** The ended session (`sid`). Not a foreign key: the session may be forgotten first. */
  @Property({ type: 'text' })
  sessionId!: string;

  /** The session's user (`sub`). Not a foreign key: deleting the user ends the session too. */
  @Property({ type: 'text' })
  subject!: string;

  @Property({ type: 'integer', default: 0 })
  attempts: number = 0;

  @Property({ type: 'datetime' })
  nextAttemptAt!: Date;

  /** A worker holds the notice until then; another may take it over afterwards. */
  @Property({ type: 'datetime', nullable: true })
  lockedUntil: Date | null = null;

  @Property({ type: 'text', nullable: true })
  lastOutcome: string | null = null;
}
