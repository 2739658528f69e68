import { invalid } from '../errors/app-error.js';
import { hasHiddenCharacters } from './text.js';

/** Input checks shared by services. Each returns the normalised value or throws BAD_USER_INPUT. */

export function checkName(value: string, field: string[], max = 200): string {
  const trimmed = value.trim();
  if (!trimmed) throw invalid('validation.required', 'Must not be empty', field);
  if (hasHiddenCharacters(trimmed)) throw invalid('validation.hidden_characters', 'Must not contain control or text-direction characters', field);
  if (trimmed.length > max) throw invalid('validation.too_long', `Must be at most ${max} characters`, field);
  return trimmed;
}

export function checkOptionalText(value: string | null | undefined, field: string[], max = 1000): string | null {
  if (value == null) return null;
  const trimmed = value.trim();
  if (trimmed.length > max) throw invalid('validation.too_long', `Must be at most ${max} characters`, field);
  return trimmed || null;
}

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export function checkSlug(value: string, field: string[]): string {
  if (!SLUG.test(value)) {
    throw invalid('validation.slug', 'Use 1–63 lower-case letters, digits and inner hyphens', field);
  }
  return value;
}

/** `resource:action`-style keys of roles, permissions and custom attributes. */
const KEY = /^[a-z][a-z0-9_.:-]{0,99}$/;
export function checkKey(value: string, field: string[]): string {
  if (!KEY.test(value)) {
    throw invalid('validation.key', 'Use a lower-case letter then up to 99 of a-z 0-9 _ . : -', field);
  }
  return value;
}

/**
 * An address whose domain has at least two labels, none empty: `pat@strict.test.` (the same
 * mailbox as `pat@strict.test`) or `pat@strict..test` would otherwise slip past every rule
 * keyed on the domain (home-realm discovery, required SSO, verified domains).
 */
const EMAIL = /^[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+$/;
export const isEmailAddress = (value: string): boolean => value.length <= 320 && EMAIL.test(value);
export function checkEmail(value: string, field: string[]): string {
  const email = value.trim().toLowerCase();
  if (!isEmailAddress(email)) throw invalid('validation.email', 'Not a valid email address', field);
  return email;
}

const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
export function checkDomain(value: string, field: string[]): string {
  const domain = value.trim().toLowerCase().replace(/\.$/, '');
  if (!DOMAIN.test(domain)) throw invalid('validation.domain', 'Not a valid domain name', field);
  return domain;
}

export function checkExternalId(value: string | null | undefined, field: string[]): string | null {
  if (value == null) return null;
  if (!value.trim() || value.length > 255) {
    throw invalid('validation.external_id', 'External ids are 1–255 characters', field);
  }
  return value;
}

/** Free-form metadata: a JSON object of bounded size. */
export function checkMetadata(value: unknown, field: string[], maxBytes = 16 * 1024): Record<string, unknown> {
  if (value == null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalid('validation.metadata', 'Metadata must be a JSON object', field);
  }
  if (Buffer.byteLength(JSON.stringify(value)) > maxBytes) {
    throw invalid('validation.metadata_too_large', `Metadata must be at most ${maxBytes} bytes of JSON`, field);
  }
  return value as Record<string, unknown>;
}
