import { ulid } from 'ulid';

/**
 * Prefixed, time-sortable, opaque identifiers: `org_01jd…`. The same string is the primary
 * key and the GraphQL `ID`, and its prefix lets `node(id:)` find the type without a lookup.
 */
export const ID_PREFIXES = {
  workspace: 'wks',
  environment: 'env',
  apiKey: 'key',
  organization: 'org',
  domain: 'dom',
  user: 'usr',
  membership: 'mem',
  role: 'rol',
  permission: 'prm',
  customAttribute: 'cad',
  auditEvent: 'evt',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${ulid().toLowerCase()}`;
}

const ID_SHAPE = /^([a-z]{3})_[0-9a-hjkmnp-tv-z]{26}$/;

/** The kind an id names, or undefined for anything that is not one of ours. */
export function kindOfId(id: string): IdKind | undefined {
  const match = ID_SHAPE.exec(id);
  if (!match) return undefined;
  return (Object.keys(ID_PREFIXES) as IdKind[]).find((kind) => ID_PREFIXES[kind] === match[1]);
}

export function isIdOf(kind: IdKind, id: string): boolean {
  return kindOfId(id) === kind;
}
