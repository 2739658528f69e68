import { invalidRequest } from './oauth-error.js';
import { isCleanText } from '../../modules/text.js';

/** Parameters that RFC 8707 lets a request repeat; every other one must appear at most once (RFC 6749 §3.1). */
const REPEATABLE = new Set(['resource', 'audience']);
const MAX_PARAMETERS = 64;

/** A parsed `application/x-www-form-urlencoded` body. */
export class FormParams {
  private constructor(private readonly values: Map<string, string[]>) {}

  static parse(body: string): FormParams {
    const values = new Map<string, string[]>();
    let count = 0;
    for (const [name, value] of new URLSearchParams(body)) {
      if ((count += 1) > MAX_PARAMETERS) throw invalidRequest('Too many parameters');
      // Parameters reach the database and the audit trail: NUL and lone surrogates are refused
      // here, names included (the name is not echoed: it may be the malformed part).
      if (!isCleanText(name)) throw invalidRequest('A parameter name contains a NUL character or is not well-formed text');
      if (!isCleanText(value)) throw invalidRequest(`The ${name} parameter contains a NUL character or is not well-formed text`);
      // Empty values count as absent (RFC 6749 §3.1).
      if (value === '') continue;
      const list = values.get(name);
      if (list && !REPEATABLE.has(name)) throw invalidRequest(`The ${name} parameter is given more than once`);
      if (list) list.push(value);
      else values.set(name, [value]);
    }
    return new FormParams(values);
  }

  get(name: string): string | undefined {
    return this.values.get(name)?.[0];
  }

  all(name: string): string[] {
    return this.values.get(name) ?? [];
  }

  require(name: string): string {
    const value = this.get(name);
    if (value === undefined) throw invalidRequest(`The ${name} parameter is required`);
    return value;
  }

  /** Every parameter with its values, as the authorization request checks read them. */
  raw(): ReadonlyMap<string, readonly string[]> {
    return this.values;
  }

  has(name: string): boolean {
    return this.values.has(name);
  }
}

/** A space-delimited scope parameter as a set (RFC 6749 §3.3). */
export function parseScope(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const scopes = raw.split(' ').filter(Boolean);
  if (scopes.some((scope) => !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope))) throw invalidRequest('The scope parameter is malformed');
  return [...new Set(scopes)];
}
