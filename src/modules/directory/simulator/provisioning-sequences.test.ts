import { describe, expect, it } from 'vitest';
import { SEQUENCES } from './provisioning-sequences.js';
import { MAX_SIMULATION_STEPS } from './provisioning-simulator.js';

describe('provisioning sequences', () => {
  it.each(Object.entries(SEQUENCES))('%s fits the steps the GraphQL API prices, each step titled and explained', (_provider, steps) => {
    expect(steps.length).toBeLessThanOrEqual(MAX_SIMULATION_STEPS);
    for (const step of steps) {
      expect(step.title).not.toBe('');
      expect(step.quirk).not.toBe('');
    }
  });
});
