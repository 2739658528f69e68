import { Entity, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';

@Entity({ tableName: 'workspace' })
export class Workspace extends BaseEntity {
  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'text' })
  @Unique()
  slug!: string;
}
