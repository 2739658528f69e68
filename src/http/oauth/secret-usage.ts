import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from 'pino';
import { ClientSecretRepository } from '../../modules/oauth-client/oauth-client.repository.js';
import { environmentEm } from './context.js';
import type { EnvironmentState } from './oauth-cache.js';

const STAMP_EVERY_MS = 60_000;

/**
 * `lastUsedAt` of client secrets, stamped at most once a minute per secret and process, off the
 * request path: a write per token request would cost more than the issuance itself, and the
 * column is for people deciding whether a secret is still in use.
 */
export class SecretUsage {
  private readonly stamped = new Map<string, number>();

  constructor(
    private readonly orm: MikroORM,
    private readonly logger: Logger,
  ) {}

  /** Notes that a secret of the environment authenticated a client now. */
  touch(env: Pick<EnvironmentState, 'id' | 'workspaceId'>, secretId: string): void {
    const now = Date.now();
    if (now - (this.stamped.get(secretId) ?? 0) < STAMP_EVERY_MS) return;
    this.stamped.set(secretId, now);
    if (this.stamped.size > 50_000) this.stamped.clear();
    new ClientSecretRepository(environmentEm(this.orm, env))
      .stampLastUsed(secretId, new Date(now))
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not stamp client secret usage'));
  }
}
