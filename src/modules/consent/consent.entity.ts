import { Entity, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';
import { OAuthClient } from '../oauth-client/oauth-client.entity.js';
import { User } from '../user/user.entity.js';

/**
 * What a person allowed a third-party application: the scopes and APIs granted so far, one row
 * per user and application. A request within them signs in without asking again; one that asks
 * for more asks for the difference and adds it (step-up consent accumulates).
 */
@Entity({ tableName: 'consent' })
@Unique({ properties: ['userId', 'clientId'] })
export class Consent extends BaseEntity<'organizationIds'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade', index: true })
  environmentId!: string;

  @ManyToOne({ entity: () => User, mapToPk: true, fieldName: 'user_id', deleteRule: 'cascade' })
  userId!: string;

  @ManyToOne({ entity: () => OAuthClient, mapToPk: true, fieldName: 'client_id', deleteRule: 'cascade', index: true })
  clientId!: string;

  @Property({ type: 'text[]' })
  scopes!: string[];

  @Property({ type: 'text[]' })
  resources!: string[];

  /** Organizations whose membership the person let the application act with (tokens carry `org_id`). */
  @Property({ type: 'text[]', default: '{}' })
  organizationIds: string[] = [];
}
