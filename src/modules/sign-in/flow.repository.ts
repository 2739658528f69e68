import type { EntityManager } from '@mikro-orm/core';
import { LockMode } from '@mikro-orm/core';
import { Repository } from '../../db/repository.js';
import { PushedAuthorizationRequest, SignInFlow } from './flow.entity.js';

export class SignInFlowRepository extends Repository<SignInFlow> {
  constructor(em: EntityManager) {
    super(em, SignInFlow, 'sign_in_flow');
  }

  /** Drops flows that expired before `before`. */
  deleteExpired(before: Date): Promise<number> {
    return this.em.nativeDelete(SignInFlow, { expiresAt: { $lt: before } });
  }
}

export class PushedRequestRepository extends Repository<PushedAuthorizationRequest> {
  constructor(em: EntityManager) {
    super(em, PushedAuthorizationRequest, 'pushed_authorization_request');
  }

  /** The request of a `request_uri`, locked for its single redemption. */
  lockByHandle(handleHash: string): Promise<PushedAuthorizationRequest | null> {
    return this.em.findOne(PushedAuthorizationRequest, { handleHash }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  }

  deleteExpired(before: Date): Promise<number> {
    return this.em.nativeDelete(PushedAuthorizationRequest, { expiresAt: { $lt: before } });
  }
}
