import { parse, type Filter } from 'scim2-parse-filter';
import { scimError } from './scim-errors.js';

/** Member values one request may name, at most (a Group itself may have any number of members). */
export const MAX_MEMBER_VALUES = 10_000;

/**
 * What a request does to a Group's members, folded from its operations in order: `reset` drops
 * every member not in `add` (a replace of the list, or a remove of them all); otherwise `remove`
 * and `add` name the only members that change. Nothing is read to compute it.
 */
export interface MemberChange {
  reset: boolean;
  add: Set<string>;
  remove: Set<string>;
}

export const noMemberChange = (): MemberChange => ({ reset: false, add: new Set(), remove: new Set() });

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The User ids of a `members` value: a list of `{value, display?, $ref?, type?}` (Okta sends no
 * `type`), or one such object. A member of another type (a Group) is refused: groups of groups
 * are not kept.
 */
export function memberIds(value: unknown, where: string, counter: { count: number }): string[] {
  if (value === null) return [];
  const values = Array.isArray(value) ? value : [value];
  counter.count += values.length;
  if (counter.count > MAX_MEMBER_VALUES) throw scimError('invalidValue', `At most ${MAX_MEMBER_VALUES} member values in one request`);
  return values.map((item, index) => {
    if (!isObject(item)) throw scimError('invalidValue', `${where}[${index}] must be an object with "value"`);
    let id: unknown;
    for (const [key, sub] of Object.entries(item)) {
      const name = key.toLowerCase();
      if (name === 'value') id = sub;
      else if (name === 'type') {
        if (typeof sub !== 'string' || sub.toLowerCase() !== 'user') throw scimError('invalidValue', `${where}[${index}].type must be "User": groups of groups are not kept`);
      } else if (name !== 'display' && name !== '$ref') {
        throw scimError('invalidSyntax', `Unknown attribute "${where}[${index}].${key.slice(0, 100)}"`);
      }
    }
    if (typeof id !== 'string' || id === '' || id.length > 100) throw scimError('invalidValue', `${where}[${index}].value must be the id of a User`);
    return id;
  });
}

function add(change: MemberChange, ids: string[]): void {
  for (const id of ids) {
    change.remove.delete(id);
    change.add.add(id);
  }
}

function remove(change: MemberChange, ids: string[]): void {
  for (const id of ids) {
    change.add.delete(id);
    if (!change.reset) change.remove.add(id);
  }
}

function replace(change: MemberChange, ids: string[]): void {
  change.reset = true;
  change.add = new Set(ids);
  change.remove.clear();
}

/**
 * The ids a `members[…]` path selects. Only `value eq "<id>"` comparisons joined by `or` are
 * served (Entra's `members[value eq "…"]`): they name the members without reading the others.
 */
function selectedIds(path: string): string[] {
  const open = path.indexOf('[');
  const close = path.lastIndexOf(']');
  if (close !== path.length - 1) throw scimError('invalidPath', `"${path.slice(0, 200)}": a member is removed whole, not one of its sub-attributes`);
  let filter: Filter;
  try {
    filter = parse(path.slice(open + 1, close));
  } catch {
    throw scimError('invalidPath', `The value filter of "${path.slice(0, 200)}" cannot be parsed`);
  }
  const ids: string[] = [];
  const collect = (part: Filter): void => {
    if (part.op === 'or') return part.filters.forEach(collect);
    if (part.op === 'eq' && part.attrPath.toLowerCase() === 'value' && typeof part.compValue === 'string') {
      ids.push(part.compValue);
      return;
    }
    throw scimError('invalidPath', `"${path.slice(0, 200)}": members are selected by value eq "<id>" (joined by or)`);
  };
  collect(filter);
  if (ids.length > MAX_MEMBER_VALUES) throw scimError('invalidValue', `At most ${MAX_MEMBER_VALUES} member values in one request`);
  return ids;
}

/**
 * One PATCH operation on `members` folded into `change`: `add` adds the values, `replace` sets
 * the list (Okta's full list, `[]` to empty it), `remove` without a value empties the group,
 * with a value (Entra) or a `members[value eq "…"]` path removes those members.
 */
export function foldMemberOperation(change: MemberChange, op: 'add' | 'replace' | 'remove', path: string | null, value: unknown, where: string, counter: { count: number }): void {
  if (path && path.includes('[')) {
    if (op !== 'remove') throw scimError('invalidPath', `"${path.slice(0, 200)}": a value filter of members selects members to remove`);
    if (value !== undefined && value !== null) throw scimError('invalidValue', `${where}: a remove through a value filter takes no value`);
    remove(change, selectedIds(path));
    return;
  }
  if (op === 'remove') {
    if (value === undefined || value === null) replace(change, []);
    else remove(change, memberIds(value, `${where}.value`, counter));
    return;
  }
  if (value === undefined) throw scimError('invalidValue', `${where}: ${op} needs a value`);
  const ids = memberIds(value, `${where}.value`, counter);
  if (op === 'add') add(change, ids);
  else replace(change, ids);
}

/** Whether a PATCH path names `members` (whole or through a value filter). */
export function isMembersPath(path: string): boolean {
  const lower = path.toLowerCase();
  const name = lower.startsWith('urn:ietf:params:scim:schemas:core:2.0:group:') ? lower.slice('urn:ietf:params:scim:schemas:core:2.0:group:'.length) : lower;
  if (name === 'members' || name.startsWith('members[')) return true;
  if (name.startsWith('members.')) throw scimError('invalidPath', `"${path.slice(0, 200)}": a member is added or removed whole`);
  return false;
}
