import type { MikroORM } from '@mikro-orm/core';
import { MicroBatcher } from '../../db/micro-batch.js';
import { systemFork } from '../../db/tenant-scope.js';
import { UsedAssertionRepository } from '../../modules/token-state/token-state.repository.js';

interface Claim {
  clientId: string;
  jti: string;
  expiresAt: Date;
}

/**
 * Remembers client assertion ids (RFC 7523 §3): the first use of a `jti` wins, in any process,
 * because the row's primary key refuses the second. Claims are group-inserted, one statement
 * for everything queued, like hot-path audit events.
 */
export class ReplayGuard {
  private readonly batcher: MicroBatcher<Claim, boolean>;

  constructor(orm: MikroORM) {
    this.batcher = new MicroBatcher(async (claims) => {
      // The same id twice in one batch: only its first occurrence can win.
      const firstIndex = new Map<string, number>();
      claims.forEach((claim, index) => {
        const key = `${claim.clientId}\u0000${claim.jti}`;
        if (!firstIndex.has(key)) firstIndex.set(key, index);
      });
      const unique = [...firstIndex.values()].map((index) => claims[index]);
      // One statement for the claims of every environment: assertion ids are keyed by client id.
      const rows = await new UsedAssertionRepository(systemFork(orm, 'replay guard: assertion ids of clients of any environment, batched')).claim(unique);
      const won = new Set(rows.map((row) => `${row.clientId}\u0000${row.jti}`));
      return claims.map((claim, index) => {
        const key = `${claim.clientId}\u0000${claim.jti}`;
        return firstIndex.get(key) === index && won.has(key);
      });
    }, { maxInFlight: 4, maxDelayMs: 0 });
  }

  /**
   * True when this is the first use of the assertion id; false for a replay. `clientId` names
   * who issued the assertion: a client (its client assertions) or an SSO connection (its IdP's
   * SAML assertions); their ids never collide.
   */
  claim(clientId: string, jti: string, expiresAt: Date): Promise<boolean> {
    return this.batcher.add({ clientId, jti, expiresAt });
  }

  close(): Promise<void> {
    return this.batcher.close();
  }
}
