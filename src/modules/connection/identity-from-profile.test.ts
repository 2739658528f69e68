import { describe, expect, it } from 'vitest';
import { SsoProvider } from './connection.entity.js';
import { identityFromProfile } from './saml-sign-in.service.js';

const connection = { provider: SsoProvider.GENERIC, attributeMapping: {} };

describe('identityFromProfile', () => {
  it('reads the address of a verified domain', () => {
    const identity = identityFromProfile(connection, { subject: 'n-1', attributes: { email: ['Pat@Acme.test'] } }, ['acme.test'], false);
    expect(identity).toMatchObject({ email: 'pat@acme.test', inVerifiedDomain: true });
  });

  it('takes no address whose domain has an empty label: the same mailbox spelled to slip past domain rules', () => {
    for (const email of ['pat@acme.test.', 'pat@acme..test', 'pat@.acme.test', 'pat@acme']) {
      expect(identityFromProfile(connection, { subject: 'n-1', attributes: { email: [email] } }, ['acme.test'], false), email).toBeNull();
    }
    expect(identityFromProfile(connection, { subject: 'pat@acme.test.', attributes: {} }, ['acme.test'], true)).toBeNull();
  });
});
