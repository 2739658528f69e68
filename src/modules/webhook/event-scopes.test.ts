import { describe, expect, it } from 'vitest';
import { EVENT_READ_SCOPES, scopesForEventType } from './event-scopes.js';

describe('scopesForEventType', () => {
  it.each([
    ['user.created', ['users:read']],
    // A refused sign-in names the address typed, which the users API never shows.
    ['user.*', ['audit:read', 'users:read']],
    ['user.signin_failed', ['audit:read', 'users:read']],
    ['user.created.*', ['users:read']],
    ['user', ['users:read']],
    ['organization.domain_verified', ['organizations:read']],
    ['api_key.created', ['api_keys:read']],
    // The family's scope, and the stronger one of an action in it that shows more.
    ['api_key.*', ['api_keys:read', 'audit:read']],
    ['api_key.authentication_failed', ['api_keys:read', 'audit:read']],
    ['oauth.token_issued', ['audit:read']],
    ['webhook_endpoint.*', ['webhooks:read']],
    ['connection.created', ['organizations:read']],
    ['sso.signin_failed', ['audit:read']],
    ['directory.user.created', ['organizations:read']],
    ['directory.*', ['organizations:read']],
  ])('%s needs %j', (eventType, scopes) => {
    expect(scopesForEventType(eventType).sort()).toEqual(scopes);
  });

  // Fail closed: every event, a family without an entry, and any wildcard that may span families
  // (the action syntax refuses `u*` today; this holds should it ever allow more).
  it.each(['*', 'sign_in.*', 'scim_import.*', 'users.*', 'use.*', 'u*', 'user*', '*.created', 'user.%', 'user.?', 'constructor.*', '__proto__.*', 'to_string'])(
    '%s needs audit:read',
    (eventType) => {
      expect(scopesForEventType(eventType)).toEqual(['audit:read']);
    },
  );

  it('keys the table by lowercase families or actions, as actions are written', () => {
    for (const key of Object.keys(EVENT_READ_SCOPES)) expect(key).toMatch(/^[a-z_]+(\.[a-z_]+)?$/);
  });
});
