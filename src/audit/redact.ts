/**
 * Audit payloads never carry secrets. Any key whose name looks like a secret is replaced by a
 * marker, at any depth, before the event is stored. Services pass snapshots built from public
 * fields anyway; this is the net under them.
 */
const SECRET_KEY = /(secret|password|token|hash|private|credential|api_?key$)/i;
export const REDACTED = '[REDACTED]';

/** PostgreSQL text and jsonb cannot hold NUL: an event carrying one would fail to store. */
const NUL = /\u0000/g;
export const withoutNul = (text: string): string => text.replace(NUL, '\uFFFD');

export function redact(value: unknown): unknown {
  if (typeof value === 'string') return withoutNul(value);
  if (Array.isArray(value)) return value.map(redact);
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[withoutNul(key)] = SECRET_KEY.test(key) ? REDACTED : redact(inner);
    }
    return out;
  }
  return value;
}
