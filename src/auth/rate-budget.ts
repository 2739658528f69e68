import { RateLimiterMemory } from 'rate-limiter-flexible';

/**
 * A budget of events per key per minute, counted per process (with N processes it is N times
 * larger, which bounds the rate all the same).
 */
export class RateBudget {
  private readonly limiter: RateLimiterMemory;

  constructor(perMinute: number) {
    this.limiter = new RateLimiterMemory({ points: Math.max(perMinute, 1), duration: 60 });
  }

  /** Counts one event of `key`; returns 0 while within the budget, else the seconds until it refills. */
  async take(key: string): Promise<number> {
    try {
      await this.limiter.consume(key);
      return 0;
    } catch (rejection) {
      const msBeforeNext = (rejection as { msBeforeNext?: number }).msBeforeNext ?? 60_000;
      return Math.max(1, Math.ceil(msBeforeNext / 1000));
    }
  }
}
