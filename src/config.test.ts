import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('configuration', () => {
  it('reads the private-target switch by its name, and by its former webhook-only name', () => {
    expect(loadConfig({}).allowPrivateTargets).toBe(false);
    expect(loadConfig({ GATEHOUSE_ALLOW_PRIVATE_TARGETS: 'true' }).allowPrivateTargets).toBe(true);
    expect(loadConfig({ GATEHOUSE_WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' }).allowPrivateTargets).toBe(true);
    // The current name wins when both are set.
    expect(loadConfig({ GATEHOUSE_ALLOW_PRIVATE_TARGETS: 'false', GATEHOUSE_WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' }).allowPrivateTargets).toBe(false);
  });

  it('refuses a webhook retry schedule longer than a delivery\'s listed attempts', () => {
    expect(() => loadConfig({ GATEHOUSE_WEBHOOK_RETRY_SCHEDULE: Array(20).fill('1').join(',') })).toThrow(ConfigError);
    expect(loadConfig({ GATEHOUSE_WEBHOOK_RETRY_SCHEDULE: Array(19).fill('1').join(',') }).webhookRetrySchedule).toHaveLength(19);
    expect(() => loadConfig({ GATEHOUSE_BACKCHANNEL_LOGOUT_RETRY_SCHEDULE: Array(11).fill('1').join(',') })).toThrow(ConfigError);
    expect(() => loadConfig({ GATEHOUSE_BACKCHANNEL_LOGOUT_RETRY_SCHEDULE: '5,soon' })).toThrow(/GATEHOUSE_BACKCHANNEL_LOGOUT_RETRY_SCHEDULE/);
    expect(loadConfig({ GATEHOUSE_BACKCHANNEL_LOGOUT_RETRY_SCHEDULE: '1, 2' }).backchannelLogoutRetrySchedule).toEqual([1, 2]);
  });

  it('reads the query and WebSocket limits with their documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      maxQuerySelections: 1000,
      maxQueryAliases: 100,
      maxResponseBytes: 16 * 1024 * 1024,
      auditVerifyMaxEvents: 10_000,
      auditVerificationsPerMinute: 10,
      wsConnectionsPerKey: 10,
      wsConnectionsPerAddress: 50,
      wsOperationsPerConnection: 100,
    });
    expect(() => loadConfig({ GATEHOUSE_WS_CONNECTIONS_PER_KEY: '0' })).toThrow(ConfigError);
  });

  it('compiles repeated GraphQL queries unless GATEHOUSE_GRAPHQL_JIT is false', () => {
    expect(loadConfig({}).graphqlJit).toBe(true);
    expect(loadConfig({ GATEHOUSE_GRAPHQL_JIT: 'false' }).graphqlJit).toBe(false);
    expect(() => loadConfig({ GATEHOUSE_GRAPHQL_JIT: 'sometimes' })).toThrow(ConfigError);
  });

  it('reads the SMTP server and the From address, refusing what could inject headers or echo a password', () => {
    expect(loadConfig({})).toMatchObject({ smtpUrl: undefined, mailFrom: 'Gatehouse <no-reply@localhost>' });
    expect(loadConfig({ GATEHOUSE_SMTP_URL: 'smtps://user:pass@mail.example.com:465', GATEHOUSE_MAIL_FROM: 'Acme <signin@acme.example>' })).toMatchObject({
      smtpUrl: 'smtps://user:pass@mail.example.com:465',
      mailFrom: 'Acme <signin@acme.example>',
    });
    expect(loadConfig({ GATEHOUSE_MAIL_FROM: 'signin@acme.example' }).mailFrom).toBe('signin@acme.example');
    for (const bad of ['https://mail.example.com', 'smtp://', 'not a url :pass@']) {
      expect(() => loadConfig({ GATEHOUSE_SMTP_URL: bad })).toThrow(/GATEHOUSE_SMTP_URL must be an smtp/);
    }
    const refused = (() => {
      try {
        loadConfig({ GATEHOUSE_SMTP_URL: 'http://user:hunter2@mail.example.com' });
        return undefined;
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(ConfigError);
    expect(String(refused)).not.toContain('hunter2');
    for (const bad of ['Acme <a@b>\r\nBcc: victim@example.com', 'no address', 'Acme <not-an-address>']) {
      expect(() => loadConfig({ GATEHOUSE_MAIL_FROM: bad })).toThrow(/GATEHOUSE_MAIL_FROM/);
    }
  });
});
