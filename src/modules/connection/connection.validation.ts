import { X509Certificate } from 'node:crypto';
import { invalid } from '../../errors/app-error.js';
import type { IdpCertificate } from './connection.entity.js';
import type { AttributeMappingOverrides } from './attribute-mapping.js';
import { hasHiddenCharacters } from '../text.js';

const MAX_URL_LENGTH = 2048;
const MAX_ENTITY_ID_LENGTH = 1024;
/** Enough for the current certificate, the next one, and one more during a messy rotation. */
export const MAX_IDP_CERTIFICATES = 5;
const MAX_CERTIFICATE_LENGTH = 16 * 1024;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * An https URL the browser or the server goes to (the IdP's SSO URL, an OIDC issuer); http only
 * on loopback, for an IdP on the developer's own machine.
 */
export function checkIdpUrl(value: string, field: string[], resource = 'sso_connection'): string {
  let url: URL | undefined;
  try {
    url = new URL(value.trim());
  } catch {
    // reported below
  }
  const secure = url && (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname)));
  if (!url || !secure || url.username || url.password || url.hash || value.length > MAX_URL_LENGTH) {
    throw invalid(`${resource}.invalid_url`, `Must be an https URL (http only on localhost) without credentials or fragment, at most ${MAX_URL_LENGTH} characters`, field);
  }
  return url.toString();
}

/** A SAML entity id: a URI (often a URL, sometimes a URN), compared exactly. */
export function checkEntityId(value: string, field: string[]): string {
  const trimmed = value.trim();
  if (!trimmed || trimmed.length > MAX_ENTITY_ID_LENGTH || /[\s\u0000-\u001f\u007f]/.test(trimmed) || !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(trimmed)) {
    throw invalid('sso_connection.invalid_entity_id', `Must be a URI (a URL or a URN) without spaces, at most ${MAX_ENTITY_ID_LENGTH} characters`, field);
  }
  return trimmed;
}

/** PEM, or the bare base64 of the DER that IdP consoles and metadata show. */
function toPem(value: string): string {
  const trimmed = value.trim();
  if (trimmed.startsWith('-----BEGIN CERTIFICATE-----')) return trimmed;
  const base64 = trimmed.replace(/\s+/g, '');
  return `-----BEGIN CERTIFICATE-----\n${base64.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----`;
}

/**
 * IdP signing certificates: each parsed as X.509 (what the validator will trust, and when it
 * stops being valid), at most MAX_IDP_CERTIFICATES, without duplicates. An expired one is
 * refused: it could only make sign-ins fail later, in a way nobody expects.
 */
export function checkIdpCertificates(values: readonly string[], field: string[], now = new Date()): IdpCertificate[] {
  if (values.length > MAX_IDP_CERTIFICATES) throw invalid('sso_connection.too_many_certificates', `At most ${MAX_IDP_CERTIFICATES} certificates`, field);
  const seen = new Set<string>();
  return values.map((value, index) => {
    const at = [...field, String(index)];
    let certificate: X509Certificate;
    try {
      if (value.length > MAX_CERTIFICATE_LENGTH) throw new Error('too long');
      certificate = new X509Certificate(toPem(value));
    } catch {
      throw invalid('sso_connection.invalid_certificate', 'Not an X.509 certificate (PEM, or the base64 of its DER)', at);
    }
    if (new Date(certificate.validTo).getTime() <= now.getTime()) {
      throw invalid('sso_connection.certificate_expired', `The certificate expired on ${new Date(certificate.validTo).toISOString()}`, at);
    }
    if (seen.has(certificate.fingerprint256)) throw invalid('sso_connection.duplicate_certificate', 'The certificate is listed twice', at);
    seen.add(certificate.fingerprint256);
    return {
      pem: certificate.toString().trim(),
      fingerprint: certificate.fingerprint256,
      subject: certificate.subject.replace(/\n/g, ', '),
      notBefore: new Date(certificate.validFrom).toISOString(),
      notAfter: new Date(certificate.validTo).toISOString(),
    };
  });
}

/** OIDC scopes to ask the IdP for: `openid` always among them (unless `openid` is false: a plain OAuth 2.0 server). */
export function checkOidcScopes(values: readonly string[], field: string[], options: { resource?: string; openid?: boolean } = {}): string[] {
  const code = `${options.resource ?? 'sso_connection'}.invalid_scope`;
  const scopes = [...new Set([...(options.openid === false ? [] : ['openid']), ...values.map((value) => value.trim())])];
  const bad = scopes.find((scope) => !/^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/.test(scope));
  if (bad !== undefined) throw invalid(code, `"${bad.slice(0, 130)}" is not a scope`, field);
  if (scopes.length > 20) throw invalid(code, 'At most 20 scopes', field);
  return scopes.sort();
}

/** An OAuth client id or secret as the provider issued it. */
export function checkCredential(value: string, field: string[], what: string, resource = 'sso_connection'): string {
  const trimmed = value.trim();
  if (!trimmed || trimmed.length > 1024 || /[\u0000-\u001f\u007f]/.test(trimmed)) throw invalid(`${resource}.invalid_credential`, `${what} must be 1–1024 printable characters`, field);
  return trimmed;
}

/** Group → role rows a connection may have, and custom attributes it may map. */
export const MAX_GROUP_ROLE_MAPPINGS = 100;
export const MAX_MAPPED_CUSTOM_ATTRIBUTES = 50;

/** An attribute or claim name as IdPs spell them: a URI, an OID URN, a word with dots. */
function checkAttributeName(value: string, field: string[]): string {
  const trimmed = value.trim();
  if (!trimmed || trimmed.length > 512 || /[\u0000-\u001f\u007f]/.test(trimmed) || hasHiddenCharacters(trimmed)) {
    throw invalid('sso_connection.invalid_attribute_name', 'An attribute name must be 1–512 printable characters', field);
  }
  return trimmed;
}

/**
 * The connection's own attribute names: each part optional (the provider preset decides where
 * one is not given); custom attributes must be defined in the environment.
 */
export function checkAttributeMapping(
  input: { email?: string | null; givenName?: string | null; familyName?: string | null; name?: string | null; groups?: string | null; custom?: Record<string, unknown> | null },
  definedKeys: ReadonlySet<string>,
  field: string[],
): AttributeMappingOverrides {
  const mapping: AttributeMappingOverrides = {};
  for (const part of ['email', 'givenName', 'familyName', 'name', 'groups'] as const) {
    const value = input[part];
    if (value != null && value.trim() !== '') mapping[part] = checkAttributeName(value, [...field, part]);
  }
  const custom = Object.entries(input.custom ?? {});
  if (custom.length > MAX_MAPPED_CUSTOM_ATTRIBUTES) throw invalid('sso_connection.too_many_attributes', `Map at most ${MAX_MAPPED_CUSTOM_ATTRIBUTES} custom attributes`, [...field, 'custom']);
  if (custom.length) {
    mapping.custom = {};
    for (const [key, name] of custom) {
      if (!definedKeys.has(key)) throw invalid('sso_connection.unknown_attribute', `No custom attribute "${key.slice(0, 64)}" is defined in the environment`, [...field, 'custom', key.slice(0, 64)]);
      if (typeof name !== 'string') throw invalid('sso_connection.invalid_attribute_name', 'Map each custom attribute to an attribute name (a string)', [...field, 'custom', key]);
      mapping.custom[key] = checkAttributeName(name, [...field, 'custom', key]);
    }
  }
  return mapping;
}

/** Rows of a group → role mapping: a group name each (once), and the role keys it gives. */
export function checkGroupRoleRows(rows: readonly { group: string; roleKeys: string[] }[], field: string[], resource = 'sso_connection'): { group: string; roleKeys: string[] }[] {
  if (rows.length > MAX_GROUP_ROLE_MAPPINGS) throw invalid(`${resource}.too_many_mappings`, `At most ${MAX_GROUP_ROLE_MAPPINGS} group mappings`, field);
  const seen = new Set<string>();
  return rows.map((row, index) => {
    const group = row.group.trim();
    if (!group || group.length > 256 || /[\u0000-\u001f\u007f]/.test(group)) throw invalid(`${resource}.invalid_group`, 'A group must be 1–256 printable characters', [...field, String(index), 'group']);
    if (seen.has(group.toLowerCase())) throw invalid(`${resource}.duplicate_group`, `The group "${group.slice(0, 64)}" is mapped twice`, [...field, String(index), 'group']);
    seen.add(group.toLowerCase());
    if (!row.roleKeys.length) throw invalid('validation.required', 'Give each group at least one role', [...field, String(index), 'roleKeys']);
    return { group, roleKeys: [...new Set(row.roleKeys)].sort() };
  });
}
