import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/** A revoked access token's `jti`, kept until the token would have expired anyway (RFC 7009). */
@Entity({ tableName: 'revoked_token' })
@Index({ properties: ['expiresAt'] })
export class RevokedToken {
  @PrimaryKey({ type: 'text' })
  jti!: string;

  @Property({ type: 'text' })
  environmentId!: string;

  @Property({ type: 'datetime' })
  expiresAt!: Date;
}

/**
 * A client assertion's `jti` seen once (RFC 7523 §3): the primary key makes a replay fail in
 * any process. Kept until the assertion expires.
 */
@Entity({ tableName: 'used_assertion' })
@Index({ properties: ['expiresAt'] })
export class UsedAssertion {
  @PrimaryKey({ type: 'text' })
  clientId!: string;

  @PrimaryKey({ type: 'text' })
  jti!: string;

  @Property({ type: 'datetime' })
  expiresAt!: Date;
}
