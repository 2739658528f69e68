import { Entity, Index, ManyToOne, Property } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';

/**
 * A message a DEVELOPMENT environment would have mailed, kept here when no SMTP server is
 * configured so `npm start` works without one (read it with `developmentOutbox`). Production
 * environments never write here: without SMTP they refuse to send.
 */
@Entity({ tableName: 'email_outbox' })
@Index({ properties: ['environmentId', 'createdAt'] })
export class OutboxMessage extends BaseEntity<'html'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @Property({ type: 'text' })
  recipient!: string;

  @Property({ type: 'text' })
  subject!: string;

  @Property({ type: 'text' })
  text!: string;

  @Property({ type: 'text', nullable: true })
  html: string | null = null;

  /** Why it was sent: `test`, later `sign_in_code`, `magic_link`, … */
  @Property({ type: 'text' })
  purpose!: string;
}
