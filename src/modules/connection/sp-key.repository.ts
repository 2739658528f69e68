import type { EntityManager } from '@mikro-orm/core';
import { Repository } from '../../db/repository.js';
import { SpKey } from './sp-key.entity.js';

/** SP key pairs of SAML connections. */
export class SpKeyRepository extends Repository<SpKey> {
  constructor(em: EntityManager) {
    super(em, SpKey, 'sso_sp_key');
  }

  /** A connection's keys, newest first. */
  ofConnection(connectionId: string): Promise<SpKey[]> {
    return this.em.find(SpKey, { connectionId }, { orderBy: { createdAt: 'desc', id: 'desc' } });
  }
}
