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

  /** Counts `points` events of `key`; returns 0 while within the budget, else the seconds until it refills. */
  async take(key: string, points = 1): Promise<number> {
    try {
      await this.limiter.consume(key, points);
      return 0;
    } catch (rejection) {
      const msBeforeNext = (rejection as { msBeforeNext?: number }).msBeforeNext ?? 60_000;
      return Math.max(1, Math.ceil(msBeforeNext / 1000));
    }
  }
}
