/**
 * Text that requests bring in (GraphQL input, OAuth parameters and metadata) ends up in
 * PostgreSQL text and jsonb columns, in signed tokens and in the audit trail. PostgreSQL stores U+0000 in neither text nor jsonb, and a lone
 * UTF-16 surrogate has no UTF-8 form at all: text silently turns it into U+FFFD, and jsonb
 * refuses its `\uD800` escape, failing the whole statement (for the batched audit writer, the
 * other requests' events with it). Such strings are malformed input (RFC 8259 §8.1: JSON text
 * is UTF-8; RFC 3629 §3: surrogates are not characters), so they are refused where they enter,
 * with the endpoint's own error, and never reach a 500.
 */

/** Deepest JSON nesting read from a request body; OAuth metadata is a few levels deep. */
export const MAX_JSON_DEPTH = 16;

/** ES2024 `String.prototype.isWellFormed` (Node 20 has it; the project's TypeScript lib stops at ES2023). */
export const isWellFormed = (value: string): boolean => (value as string & { isWellFormed(): boolean }).isWellFormed();

/** Whether a string can be stored, signed and audited as it is: no U+0000, no lone surrogate. */
export function isCleanText(value: string): boolean {
  return !value.includes('\u0000') && isWellFormed(value);
}

/**
 * The first place in a parsed JSON value where a string or a member name is not clean text, or
 * the nesting is deeper than MAX_JSON_DEPTH, as a JSONPath-like pointer (`$.contacts[1]`); null
 * when the whole value is clean.
 */
export function findUncleanText(value: unknown, path = '$', depth = 0): string | null {
  if (depth > MAX_JSON_DEPTH) return path;
  if (typeof value === 'string') return isCleanText(value) ? null : path;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findUncleanText(item, `${path}[${index}]`, depth + 1);
      if (found) return found;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      // The name itself is not echoed back: it is the malformed part.
      if (!isCleanText(key)) return `${path}[?]`;
      const found = findUncleanText(inner, `${path}.${key}`, depth + 1);
      if (found) return found;
    }
  }
  return null;
}

/**
 * Control characters, and the invisible marks that reorder text (Unicode bidirectional
 * controls): in a name shown to people (a consent page, an organization chooser) they would let
 * "Acme\u202Elaicnanif" read as another name. Names are refused with them (`checkName`).
 */
const HIDDEN_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

export const hasHiddenCharacters = (value: string): boolean => HIDDEN_CHARACTERS.test(value);

/** Text from outside shown as a name, without those characters, where refusing it is not an option. */
export const displayText = (value: string): string => value.replace(new RegExp(HIDDEN_CHARACTERS.source, 'g'), '').trim();
