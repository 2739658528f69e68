import { displayText, hasHiddenCharacters } from '../text.js';
import { SsoProvider } from './connection.entity.js';

/** Where a connection reads each part of the person: an attribute (SAML) or claim (OIDC) name. */
export interface AttributeMappingOverrides {
  email?: string;
  givenName?: string;
  familyName?: string;
  name?: string;
  groups?: string;
  /** Custom attribute key of the environment → the IdP's attribute name. */
  custom?: Record<string, string>;
}

/** One row of a connection's group → role mapping; the first row whose group the person is in decides. */
export interface GroupRoleMapping {
  group: string;
  roleKeys: string[];
}

/** The person as every connection describes them, whatever the IdP calls things. */
export interface NormalizedProfile {
  /** The IdP's stable id: NameID (SAML) or `sub` (OIDC). */
  id: string;
  email: string | null;
  givenName: string | null;
  familyName: string | null;
  name: string | null;
  groups: string[];
  /** Values for the environment's custom attributes, by key. */
  custom: Record<string, string>;
}

type Part = 'email' | 'givenName' | 'familyName' | 'name' | 'groups';

const CLAIMS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';
/**
 * Names each part goes by across IdPs, tried in order, case-insensitively, after the
 * connection's own choice. SAML attributes are matched by Name and by FriendlyName.
 */
const COMMON: Record<Part, string[]> = {
  email: ['email', 'mail', 'emailaddress', 'email_address', `${CLAIMS}/emailaddress`, 'urn:oid:0.9.2342.19200300.100.1.3', 'urn:oid:1.2.840.113549.1.9.1', 'urn:mace:dir:attribute-def:mail'],
  givenName: ['given_name', 'givenname', 'firstname', 'first_name', `${CLAIMS}/givenname`, 'urn:oid:2.5.4.42', 'urn:mace:dir:attribute-def:givenname'],
  familyName: ['family_name', 'surname', 'lastname', 'last_name', 'sn', 'familyname', `${CLAIMS}/surname`, 'urn:oid:2.5.4.4', 'urn:mace:dir:attribute-def:sn'],
  name: ['name', 'displayname', 'display_name', 'cn', `${CLAIMS}/name`, 'http://schemas.microsoft.com/identity/claims/displayname', 'urn:oid:2.16.840.1.113730.3.1.241', 'urn:oid:2.5.4.3'],
  groups: ['groups', 'group', 'memberof', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups', 'http://schemas.xmlsoap.org/claims/group', 'urn:oid:1.3.6.1.4.1.5923.1.5.1.1'],
};

/**
 * What each provider sends by default (its setup guide's attribute names), tried before the
 * common names. Entra ID sends groups as object ids unless told to send names.
 */
export const PROVIDER_PRESETS: Record<SsoProvider, Partial<Record<Part, string>>> = {
  [SsoProvider.OKTA]: { email: 'email', givenName: 'firstName', familyName: 'lastName', groups: 'groups' },
  [SsoProvider.ENTRA_ID]: {
    email: `${CLAIMS}/emailaddress`,
    givenName: `${CLAIMS}/givenname`,
    familyName: `${CLAIMS}/surname`,
    name: 'http://schemas.microsoft.com/identity/claims/displayname',
    groups: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
  },
  [SsoProvider.GOOGLE_WORKSPACE]: { email: 'email', givenName: 'firstName', familyName: 'lastName', groups: 'groups' },
  [SsoProvider.JUMPCLOUD]: { email: 'email', givenName: 'firstname', familyName: 'lastname', groups: 'memberOf' },
  [SsoProvider.ONELOGIN]: { email: 'User.email', givenName: 'User.FirstName', familyName: 'User.LastName', groups: 'memberOf' },
  [SsoProvider.PING]: { email: 'mail', givenName: 'givenName', familyName: 'sn', groups: 'memberOf' },
  [SsoProvider.ADFS]: { email: `${CLAIMS}/emailaddress`, givenName: `${CLAIMS}/givenname`, familyName: `${CLAIMS}/surname`, groups: 'http://schemas.xmlsoap.org/claims/Group' },
  [SsoProvider.GENERIC]: {},
};

/** Groups kept per person at most, and their length: enough for any real directory, bounded for a hostile IdP. */
const MAX_GROUPS = 500;
const MAX_VALUE_LENGTH = 256;

/** The attribute names tried for each part, in order: the connection's, the provider's, then the common ones. */
export function effectiveMapping(provider: SsoProvider, overrides: AttributeMappingOverrides): Record<Part, string[]> & { custom: Record<string, string> } {
  const preset = PROVIDER_PRESETS[provider];
  const names = (part: Part) => [...new Set([overrides[part], preset[part], ...COMMON[part]].filter((name): name is string => Boolean(name)).map((name) => name.toLowerCase()))];
  return { email: names('email'), givenName: names('givenName'), familyName: names('familyName'), name: names('name'), groups: names('groups'), custom: { ...overrides.custom } };
}

/**
 * The attributes under lower-cased names, with SAML FriendlyNames as further names (a Name
 * wins over a FriendlyName), so `mail` finds `urn:oid:0.9.2342.19200300.100.1.3`.
 */
function lookupTable(attributes: Record<string, string[]>, friendlyNames: Record<string, string>): Map<string, string[]> {
  const table = new Map<string, string[]>();
  for (const [name, values] of Object.entries(attributes)) if (!table.has(name.toLowerCase())) table.set(name.toLowerCase(), values);
  for (const [name, friendly] of Object.entries(friendlyNames)) {
    if (!table.has(friendly.toLowerCase()) && attributes[name]) table.set(friendly.toLowerCase(), attributes[name]);
  }
  return table;
}

/** A value fit to show and store: no hidden characters, bounded. */
const clean = (value: string) => displayText(value).trim().slice(0, MAX_VALUE_LENGTH);

/** The person an IdP described, read through the connection's mapping. */
export function normalizeProfile(
  mapping: ReturnType<typeof effectiveMapping>,
  input: { subject: string; attributes: Record<string, string[]>; friendlyNames?: Record<string, string> },
): NormalizedProfile {
  const table = lookupTable(input.attributes, input.friendlyNames ?? {});
  const all = (names: string[]) => {
    for (const name of names) {
      const values = table.get(name)?.map(clean).filter(Boolean);
      if (values?.length) return values;
    }
    return [];
  };
  const first = (names: string[]) => all(names)[0] ?? null;
  const email = first(mapping.email);
  const custom: Record<string, string> = {};
  for (const [key, name] of Object.entries(mapping.custom)) {
    const value = first([name.toLowerCase()]);
    if (value !== null) custom[key] = value;
  }
  return {
    id: input.subject,
    email: email && !hasHiddenCharacters(email) ? email : null,
    givenName: first(mapping.givenName),
    familyName: first(mapping.familyName),
    name: first(mapping.name),
    groups: [...new Set(all(mapping.groups))].slice(0, MAX_GROUPS),
    custom,
  };
}

/**
 * The role keys a person's groups give under the connection's mapping: those of the first row
 * whose group they are in (groups compare case-insensitively), else none of the rows matched
 * (`[]`). Null when the connection maps no groups: roles are then managed in Gatehouse.
 */
export function rolesForGroups(mappings: readonly GroupRoleMapping[], groups: readonly string[]): string[] | null {
  if (!mappings.length) return null;
  const member = new Set(groups.map((group) => group.toLowerCase()));
  return mappings.find((mapping) => member.has(mapping.group.toLowerCase()))?.roleKeys ?? [];
}
