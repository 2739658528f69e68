import type { SqlPart } from '../../../db/rows.js';
import { MAX_SCIM_PAGE_SIZE } from './scim-discovery.js';
import { scimError } from './scim-errors.js';
import { compileFilter, compileSort, type FilterTarget } from './scim-filter.js';
import { parseProjection, type Projection } from './scim-resource.js';

/** Query parameters of a list (RFC 7644 §3.4.2). */
export interface ListQuery {
  filter?: string;
  startIndex?: string;
  count?: string;
  sortBy?: string;
  sortOrder?: string;
  attributes?: string;
  excludedAttributes?: string;
}

/** A list request, checked: the page, the compiled filter and order, the projection. */
export interface ParsedList {
  startIndex: number;
  count: number;
  filter: SqlPart | null;
  order: string | null;
  projection: Projection;
}

function integer(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  if (!/^-?\d{1,9}$/.test(value)) throw scimError('invalidValue', `"${name}" must be an integer`);
  return Number(value);
}

/** The parameters of a list over `target`, or the SCIM error of the first that is wrong. */
export function parseListQuery(query: ListQuery, target: FilterTarget): ParsedList {
  // RFC 7644 §3.4.2.4: a startIndex below 1 is read as 1, a negative count as 0.
  const startIndex = Math.max(1, integer(query.startIndex, 'startIndex', 1));
  const count = Math.max(0, integer(query.count, 'count', MAX_SCIM_PAGE_SIZE));
  if (count > MAX_SCIM_PAGE_SIZE) throw scimError('invalidValue', `"count" is at most ${MAX_SCIM_PAGE_SIZE}`);
  return {
    startIndex,
    count,
    projection: parseProjection(target.schemas, query.attributes, query.excludedAttributes),
    filter: query.filter !== undefined && query.filter.trim() !== '' ? compileFilter(query.filter, target) : null,
    order: compileSort(query.sortBy, query.sortOrder, target),
  };
}
