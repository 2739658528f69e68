import { describe, expect, it } from 'vitest';
import { effectiveMapping, normalizeProfile, rolesForGroups } from '../../src/modules/connection/attribute-mapping.js';
import { SsoProvider } from '../../src/modules/connection/connection.entity.js';

describe('normalizing what IdPs send', () => {
  it('finds attributes by FriendlyName when the Name is an OID (pysaml2, Shibboleth)', () => {
    const profile = normalizeProfile(effectiveMapping(SsoProvider.GENERIC, {}), {
      subject: 'opaque-1',
      attributes: { 'urn:oid:1.2.840.113549.1.9.1.1': ['ann@uni.test'], 'urn:mace:dir:attribute-def:givenName': ['Ann'], 'urn:oid:2.5.4.4': ['Lee'] },
      friendlyNames: { 'urn:oid:1.2.840.113549.1.9.1.1': 'email' },
    });
    expect(profile).toMatchObject({ id: 'opaque-1', email: 'ann@uni.test', givenName: 'Ann', familyName: 'Lee' });
  });

  it('reads each provider preset first, then the connection\'s own names win', () => {
    const entra = {
      'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress': ['bo@corp.test'],
      email: ['other@corp.test'],
      'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups': ['a1b2', 'c3d4', 'a1b2'],
    };
    expect(normalizeProfile(effectiveMapping(SsoProvider.ENTRA_ID, {}), { subject: 's', attributes: entra })).toMatchObject({ email: 'bo@corp.test', groups: ['a1b2', 'c3d4'] });
    expect(normalizeProfile(effectiveMapping(SsoProvider.ENTRA_ID, { email: 'EMAIL' }), { subject: 's', attributes: entra }).email).toBe('other@corp.test');
  });

  it('keeps hidden characters out and bounds what it keeps', () => {
    const profile = normalizeProfile(effectiveMapping(SsoProvider.OKTA, { custom: { team: 'team' } }), {
      subject: 's',
      attributes: { firstName: ['Ev\u202Eil'], team: ['x'.repeat(1000)], groups: Array.from({ length: 600 }, (_, i) => `g${i}`) },
    });
    expect(profile.givenName).toBe('Evil');
    expect(profile.custom.team).toHaveLength(256);
    expect(profile.groups).toHaveLength(500);
  });

  it('gives the roles of the first matching row, the empty list when none matches, and null without rows', () => {
    const rows = [
      { group: 'Admins', roleKeys: ['admin'] },
      { group: 'Staff', roleKeys: ['member'] },
    ];
    expect(rolesForGroups(rows, ['staff', 'ADMINS'])).toEqual(['admin']);
    expect(rolesForGroups(rows, ['Staff'])).toEqual(['member']);
    expect(rolesForGroups(rows, ['Guests'])).toEqual([]);
    expect(rolesForGroups([], ['Admins'])).toBeNull();
  });
});
