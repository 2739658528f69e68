import { describe, expect, it } from 'vitest';
import { AnonymousFailureBudget, SUMMARY_ACTION } from './anonymous-failure-budget.js';
import type { AuditActor, AuditInput } from './audit-recorder.js';

const anonymous: AuditActor = { principal: null, anonymous: true, meta: { requestId: 'req_1', ip: '203.0.113.1', userAgent: null } };
const failure = (environmentId: string): AuditInput => ({
  action: 'oauth.client_authentication_failed',
  workspaceId: 'wks_1',
  environmentId,
  targets: [],
  after: { reason: 'unknown_client' },
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function recorder() {
  const written: AuditInput[] = [];
  return { written, append: async (_actor: AuditActor, input: AuditInput) => void written.push(input) };
}

describe('AnonymousFailureBudget', () => {
  it('writes the summary when the window ends, even if no failure follows, then audits again', async () => {
    const { written, append } = recorder();
    const budget = new AnonymousFailureBudget(append, { perWindow: 2, windowMs: 150 });
    for (let i = 0; i < 5; i += 1) await budget.record(anonymous, failure('env_a'));
    await budget.record(anonymous, failure('env_b'));
    expect(written.map((input) => [input.action, input.environmentId])).toEqual([
      ['oauth.client_authentication_failed', 'env_a'],
      ['oauth.client_authentication_failed', 'env_a'],
      ['oauth.client_authentication_failed', 'env_b'],
    ]);

    await sleep(250);
    expect(written).toHaveLength(4);
    expect(written[3]).toMatchObject({
      action: SUMMARY_ACTION,
      workspaceId: 'wks_1',
      environmentId: 'env_a',
      targets: [{ type: 'environment', id: 'env_a' }],
      after: { suppressed: { 'oauth.client_authentication_failed': 3 }, audited: 2, perWindow: 2 },
    });

    // A new window: failures are audited one by one again.
    await budget.record(anonymous, failure('env_a'));
    expect(written.at(-1)).toMatchObject({ action: 'oauth.client_authentication_failed', environmentId: 'env_a' });
    await budget.close();
    expect(written).toHaveLength(5);
  });

  it('writes pending summaries on close, and none for windows that left nothing out', async () => {
    const { written, append } = recorder();
    const budget = new AnonymousFailureBudget(append, { perWindow: 1, windowMs: 60_000 });
    await budget.record(anonymous, failure('env_a'));
    await budget.record(anonymous, failure('env_a'));
    await budget.record(anonymous, failure('env_b'));
    await budget.close();
    expect(written.map((input) => [input.action, input.environmentId])).toEqual([
      ['oauth.client_authentication_failed', 'env_a'],
      ['oauth.client_authentication_failed', 'env_b'],
      [SUMMARY_ACTION, 'env_a'],
    ]);
  });

  it('reports a summary it could not write instead of failing a request', async () => {
    const errors: unknown[] = [];
    const budget = new AnonymousFailureBudget(
      async (_actor, input) => {
        if (input.action === SUMMARY_ACTION) throw new Error('database down');
      },
      { perWindow: 0, onError: (error) => errors.push(error) },
    );
    await expect(budget.record(anonymous, failure('env_a'))).resolves.toBeUndefined();
    await budget.close();
    expect(errors).toEqual([new Error('database down')]);
  });
});
