import { parse, type Filter } from 'scim2-parse-filter';
import type { SqlPart } from '../../../db/rows.js';
import { scimError } from './scim-errors.js';
import { resolveAttribute, resolveSubAttribute, type ResourceSchemas, type ScimAttribute } from './scim-schema.js';

/** Longer filters are refused before they are parsed. */
export const MAX_FILTER_LENGTH = 2048;
/** Comparisons (and `pr` tests) one filter may hold: each is an expression the database evaluates per row. */
export const MAX_FILTER_COMPARISONS = 32;

/**
 * Where a resource type's rows keep their attributes: the stored SCIM resource as jsonb (core
 * attributes at the top, an extension's under its URN, as the resource's JSON has them), and
 * the attributes kept in columns of their own (indexed), by canonical dotted path.
 */
export interface FilterTarget {
  schemas: ResourceSchemas;
  /** SQL of the jsonb column holding the resource, e.g. `u."resource"`. */
  resource: string;
  /** Canonical path (`userName`, `meta.lastModified`) → SQL of its column and the column's kind. */
  columns: Record<string, FilterColumn>;
  /**
   * Multi-valued attributes kept as rows of another table (a Group's `members`), by canonical
   * name: `rows(alias)` is the SQL `from … where <joined to the outer row>` of one resource's
   * values, and `columns(alias)` the sub-attributes a filter may compare.
   */
  related?: Record<string, { rows: (alias: string) => string; columns: (alias: string) => Record<string, FilterColumn> }>;
}

/** An attribute kept in a column: its SQL and the column's kind. */
export interface FilterColumn {
  sql: string;
  kind: 'text' | 'boolean' | 'timestamptz';
}

/**
 * A SCIM filter (RFC 7644 §3.4.2.2) as an SQL condition over `target`, with its parameters: the
 * filter is evaluated by the database, never in memory. Attribute names and operators are
 * case-insensitive; strings compare case-insensitively unless the attribute is `caseExact`;
 * a comparison with an absent attribute is false (so `not` matches it); `eq null` is "not
 * present". Anything the grammar or the schema does not allow is a SCIM `invalidFilter` error.
 */
export function compileFilter(filter: string, target: FilterTarget): SqlPart {
  if (filter.length > MAX_FILTER_LENGTH) throw scimError('invalidFilter', `The filter is longer than ${MAX_FILTER_LENGTH} characters`);
  // `emails[type eq "work"].value eq "x"` is a PATCH path followed by a comparison, not filter
  // grammar; the parser would read it as two conditions joined by `and`, which selects other rows.
  if (valuePathWithSubAttribute(filter)) {
    throw scimError('invalidFilter', 'The filter cannot be parsed: a value filter ("attr[…]") cannot be followed by ".subAttribute"; write "attr[… and subAttribute …]"');
  }
  let ast: Filter;
  try {
    ast = parse(filter);
  } catch (error) {
    throw scimError('invalidFilter', `The filter cannot be parsed: ${String((error as Error).message ?? error).slice(0, 200)}`);
  }
  const compiler = new FilterCompiler(target);
  const sql = compiler.condition(ast, null);
  return { sql, params: compiler.params };
}

/** Whether a `]` outside string literals is followed by `.`. */
function valuePathWithSubAttribute(filter: string): boolean {
  let inString = false;
  for (let i = 0; i < filter.length; i += 1) {
    const char = filter[i];
    if (inString) {
      if (char === '\\') i += 1;
      else if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
    } else if (char === ']' && filter[i + 1] === '.') {
      return true;
    }
  }
  return false;
}

/**
 * Inside a value path (`emails[type eq "work"]`): the complex attribute and the SQL of one of
 * its values, jsonb (`value`) or, for an attribute kept as rows, the columns of one row.
 */
interface ValueContext {
  attribute: ScimAttribute;
  path: string;
  value: string | null;
  columns?: Record<string, FilterColumn>;
}

type Comparison = Extract<Filter, { compValue: unknown }>['op'] | 'pr';

const ORDERING = new Set(['gt', 'ge', 'lt', 'le']);
const SQL_ORDER: Record<string, string> = { gt: '>', ge: '>=', lt: '<', le: '<=' };
/** Keys are names from our schema definitions, never client text; checked anyway before they become SQL literals. */
const SAFE_KEY = /^[A-Za-z0-9$:._-]+$/;

class FilterCompiler {
  readonly params: unknown[] = [];
  private comparisons = 0;
  private aliases = 0;

  constructor(private readonly target: FilterTarget) {}

  condition(filter: Filter, context: ValueContext | null): string {
    switch (filter.op) {
      case 'and':
      case 'or':
        return `(${filter.filters.map((part) => this.condition(part, context)).join(` ${filter.op} `)})`;
      case 'not':
        return `(not ${this.condition(filter.filter, context)})`;
      case '[]':
        if (context) throw scimError('invalidFilter', `A value filter cannot hold another one ("${filter.attrPath}[…]")`);
        return this.valuePath(filter.attrPath, filter.valFilter);
      case 'pr':
        return this.leaf(filter.attrPath, 'pr', undefined, context);
      default:
        return this.leaf(filter.attrPath, filter.op, filter.compValue, context);
    }
  }

  private count(): void {
    this.comparisons += 1;
    if (this.comparisons > MAX_FILTER_COMPARISONS) throw scimError('invalidFilter', `The filter holds more than ${MAX_FILTER_COMPARISONS} comparisons`);
  }

  private alias(): string {
    this.aliases += 1;
    return `scim_v${this.aliases}`;
  }

  /** A parameter of the condition: its placeholder. */
  addParam(value: unknown): string {
    this.params.push(value);
    return '?';
  }

  /** `attr[filter]`: some value of a multi-valued complex attribute (or the value of a single one) matches. */
  private valuePath(attrPath: string, inner: Filter): string {
    const resolved = resolveAttribute(this.target.schemas, attrPath);
    if (!resolved || resolved.parent || resolved.attribute.type !== 'complex') {
      throw scimError('invalidFilter', `"${attrPath}" is not a complex attribute a value filter can apply to`);
    }
    const related = this.related(resolved.path[0]!);
    if (related) {
      const alias = this.alias();
      return `exists (select 1 ${related.rows(alias)} and ${this.condition(inner, { attribute: resolved.attribute, path: attrPath, value: null, columns: related.columns(alias) })})`;
    }
    const json = this.json(resolved.schema.id, resolved.path);
    if (!resolved.attribute.multiValued) return this.condition(inner, { attribute: resolved.attribute, path: attrPath, value: json });
    const alias = this.alias();
    return `exists (select 1 from jsonb_array_elements(${arrayOf(json)}) as ${alias}(v) where ${this.condition(inner, { attribute: resolved.attribute, path: attrPath, value: `${alias}.v` })})`;
  }

  private leaf(attrPath: string, op: Comparison, value: unknown, context: ValueContext | null): string {
    this.count();
    if (context) {
      if (attrPath.includes('.') || attrPath.toLowerCase().startsWith('urn:')) {
        throw scimError('invalidFilter', `Inside "${context.path}[…]", "${attrPath}" must name one of its sub-attributes`);
      }
      const sub = resolveSubAttribute(context.attribute, attrPath);
      if (!sub) throw scimError('invalidFilter', `"${context.path}" has no sub-attribute "${attrPath}"`);
      if (context.columns) return this.relatedColumn(context.columns, context.path, sub, op, value);
      return compareJson(this, `${context.value}->${key(sub.name)}`, sub, op, value, `${context.path}.${sub.name}`);
    }
    const resolved = resolveAttribute(this.target.schemas, attrPath);
    if (!resolved) throw scimError('invalidFilter', `Unknown attribute "${attrPath}"`);
    const canonical = resolved.path.join('.');
    const column = this.target.columns[canonical];
    if (column) return compareColumn(this, column, resolved.attribute, op, value, canonical);

    const attribute = resolved.attribute;
    const related = !resolved.parent && op === 'pr' ? this.related(attribute.name) : undefined;
    if (related) return `exists (select 1 ${related.rows(this.alias())})`;
    // A multi-valued complex attribute compared as a whole compares its values' `value` (`emails co "@acme.test"`).
    if (attribute.type === 'complex' && attribute.multiValued && op !== 'pr') {
      const valueOf = resolveSubAttribute(attribute, 'value');
      if (!valueOf) throw scimError('invalidFilter', `"${canonical}" is complex: compare one of its sub-attributes`);
      return this.anyValue(resolved.schema.id, [resolved.path[0]!], valueOf, op, value, `${canonical}.value`);
    }
    if (resolved.parent?.multiValued) return this.anyValue(resolved.schema.id, [resolved.path[0]!], attribute, op, value, canonical);
    if (attribute.type === 'complex' && op !== 'pr') throw scimError('invalidFilter', `"${canonical}" is complex: compare one of its sub-attributes`);
    return compareJson(this, this.json(resolved.schema.id, resolved.path), attribute, op, value, canonical);
  }

  /** Some value of the multi-valued attribute at `path` has `attribute` matching. */
  private anyValue(schemaId: string, path: string[], attribute: ScimAttribute, op: Comparison, value: unknown, canonical: string): string {
    const alias = this.alias();
    const related = this.related(path[0]!);
    if (related) return `exists (select 1 ${related.rows(alias)} and ${this.relatedColumn(related.columns(alias), path[0]!, attribute, op, value)})`;
    const values = arrayOf(this.json(schemaId, path));
    return `exists (select 1 from jsonb_array_elements(${values}) as ${alias}(v) where ${compareJson(this, `${alias}.v->${key(attribute.name)}`, attribute, op, value, canonical)})`;
  }

  private related(name: string) {
    return this.target.related?.[name];
  }

  /** A comparison of a sub-attribute of an attribute kept as rows: only those with a column can be compared. */
  private relatedColumn(columns: Record<string, FilterColumn>, path: string, sub: ScimAttribute, op: Comparison, value: unknown): string {
    const column = columns[sub.name];
    if (!column) throw scimError('invalidFilter', `"${path}" is filtered by ${Object.keys(columns).join(', ')} only, not "${sub.name}"`);
    return compareColumn(this, column, sub, op, value, `${path}.${sub.name}`);
  }

  /** The jsonb at `path` of the resource: core attributes at its top, an extension's under its URN. */
  private json(schemaId: string, path: string[]): string {
    const container = schemaId === this.target.schemas.core.id ? this.target.resource : `(${this.target.resource}->${key(schemaId)})`;
    return `${container}${path.map((name) => `->${key(name)}`).join('')}`;
  }
}

function key(name: string): string {
  if (!SAFE_KEY.test(name)) throw new Error(`unexpected attribute name ${name}`);
  return `'${name}'`;
}

const arrayOf = (json: string) => `(case when jsonb_typeof(${json}) = 'array' then ${json} else '[]'::jsonb end)`;

/** The value a comparison needs for an attribute of `type`, or a SCIM error naming what was expected. */
function checkValue(attribute: ScimAttribute, op: Comparison, value: unknown, canonical: string): void {
  if (op === 'pr' || value === null) return;
  const expected =
    attribute.type === 'boolean' ? 'boolean' : attribute.type === 'integer' || attribute.type === 'decimal' ? 'number' : 'string';
  if (typeof value !== expected) throw scimError('invalidFilter', `"${canonical}" is compared with a ${expected}, not ${JSON.stringify(value)}`);
  if (attribute.type === 'boolean' && op !== 'eq' && op !== 'ne') throw scimError('invalidFilter', `"${canonical}" is a boolean: only eq and ne apply`);
  if ((attribute.type === 'boolean' || attribute.type === 'integer' || attribute.type === 'decimal' || attribute.type === 'dateTime') && ['co', 'sw', 'ew'].includes(op)) {
    throw scimError('invalidFilter', `"${canonical}" is a ${attribute.type}: co, sw and ew apply to strings`);
  }
  if (attribute.type === 'dateTime' && Number.isNaN(Date.parse(value as string))) {
    throw scimError('invalidFilter', `"${canonical}" is compared with a date and time (RFC 3339), not ${JSON.stringify(value)}`);
  }
  if (attribute.type === 'binary' && ORDERING.has(op)) throw scimError('invalidFilter', `"${canonical}" is binary: it cannot be ordered`);
  if (attribute.type === 'complex') throw scimError('invalidFilter', `"${canonical}" is complex: compare one of its sub-attributes`);
}

/** A comparison never yields NULL: a missing attribute does not match, and `not` of it does. */
const definite = (sql: string) => `coalesce(${sql}, false)`;

function compareJson(compiler: FilterCompiler, json: string, attribute: ScimAttribute, op: Comparison, value: unknown, canonical: string): string {
  checkValue(attribute, op, value, canonical);
  const present = `(${json} is not null and ${json} not in ('null'::jsonb, '""'::jsonb, '[]'::jsonb, '{}'::jsonb))`;
  if (op === 'pr' || (value === null && op === 'ne')) return definite(present);
  if (value === null) {
    if (op !== 'eq') throw scimError('invalidFilter', `Only eq and ne compare "${canonical}" with null`);
    return `(not ${definite(present)})`;
  }
  if (attribute.type === 'boolean') {
    const condition = `${json} = to_jsonb(${compiler.addParam(value)}::boolean)`;
    return op === 'eq' ? definite(condition) : `(not ${definite(condition)})`;
  }
  if (attribute.type === 'integer' || attribute.type === 'decimal') {
    const number = `(case when jsonb_typeof(${json}) = 'number' then (${json})::numeric end)`;
    const sign = op === 'eq' ? '=' : op === 'ne' ? '<>' : SQL_ORDER[op]!;
    return op === 'ne' ? `(not ${definite(`${number} = ${compiler.addParam(value)}::numeric`)})` : definite(`${number} ${sign} ${compiler.addParam(value)}::numeric`);
  }
  const text = `(case when jsonb_typeof(${json}) = 'string' then ${json} #>> '{}' end)`;
  return compareText(compiler, text, attribute.caseExact, op, value as string);
}

function compareText(compiler: FilterCompiler, text: string, caseExact: boolean, op: Comparison, value: string): string {
  const subject = caseExact ? text : `lower(${text})`;
  const operand = () => (caseExact ? `${compiler.addParam(value)}::text` : `lower(${compiler.addParam(value)}::text)`);
  // Never NULL (a missing value does not match, and \`not\` of it does), and still a plain
  // comparison of the column the planner can serve from an index (\`lower("user_name") = …\`);
  // coalesce() around it would hide the comparison from the index.
  const known = (condition: string) => `(${text} is not null and ${condition})`;
  switch (op) {
    case 'eq':
      return known(`${subject} = ${operand()}`);
    case 'ne':
      return `(not ${known(`${subject} = ${operand()}`)})`;
    case 'co':
      return known(`strpos(${subject}, ${operand()}) > 0`);
    case 'sw':
      return known(`starts_with(${subject}, ${operand()})`);
    case 'ew':
      return known(`right(${subject}, char_length(${compiler.addParam(value)}::text)) = ${operand()}`);
    default:
      return known(`${subject} collate "C" ${SQL_ORDER[op]} ${operand()} collate "C"`);
  }
}

function compareColumn(
  compiler: FilterCompiler,
  column: FilterColumn,
  attribute: ScimAttribute,
  op: Comparison,
  value: unknown,
  canonical: string,
): string {
  checkValue(attribute, op, value, canonical);
  const present = column.kind === 'text' ? `(${column.sql} is not null and ${column.sql} <> '')` : `(${column.sql} is not null)`;
  if (op === 'pr' || (value === null && op === 'ne')) return definite(present);
  if (value === null) {
    if (op !== 'eq') throw scimError('invalidFilter', `Only eq and ne compare "${canonical}" with null`);
    return `(not ${definite(present)})`;
  }
  if (column.kind === 'boolean') {
    const condition = `${column.sql} = ${compiler.addParam(value)}::boolean`;
    return op === 'eq' ? definite(condition) : `(not ${definite(condition)})`;
  }
  if (column.kind === 'timestamptz') {
    const at = `${compiler.addParam(new Date(value as string).toISOString())}::timestamptz`;
    if (op === 'ne') return `(not ${definite(`${column.sql} = ${at}`)})`;
    return definite(`${column.sql} ${op === 'eq' ? '=' : SQL_ORDER[op]} ${at}`);
  }
  return compareText(compiler, column.sql, attribute.caseExact, op, value as string);
}

/**
 * The ORDER BY of `sortBy`/`sortOrder` (RFC 7644 §3.4.2.3) over `target`: strings by code point,
 * lower-cased unless the attribute is `caseExact`; a multi-valued attribute by its primary value
 * (else its first); absent values last when ascending, first when descending (PostgreSQL's
 * order, missing as greatest); ties broken by creation, then id. Null without `sortBy`.
 */
export function compileSort(sortBy: string | undefined, sortOrder: string | undefined, target: FilterTarget): string | null {
  if (sortOrder !== undefined && !/^(ascending|descending)$/i.test(sortOrder)) throw scimError('invalidValue', '"sortOrder" is "ascending" or "descending"');
  if (sortBy === undefined || sortBy.trim() === '') return null;
  const resolved = resolveAttribute(target.schemas, sortBy.trim());
  if (!resolved) throw scimError('invalidValue', `"sortBy" names an unknown attribute "${sortBy.slice(0, 200)}"`);
  const direction = sortOrder?.toLowerCase() === 'descending' ? 'desc' : 'asc';
  const canonical = resolved.path.join('.');
  let attribute = resolved.attribute;
  let expression: string;
  const column = target.columns[canonical];
  if (column) {
    expression = column.sql;
  } else {
    if (target.related?.[resolved.path[0]!]) throw scimError('invalidValue', `"sortBy" cannot sort by "${canonical}"`);
    const container = resolved.schema.id === target.schemas.core.id ? target.resource : `(${target.resource}->${key(resolved.schema.id)})`;
    const top = `${container}->${key(resolved.path[0]!)}`;
    const plural = resolved.parent?.multiValued ? resolved.parent : attribute.multiValued ? attribute : null;
    let json: string;
    if (plural) {
      const sub = resolved.parent ? attribute : resolveSubAttribute(attribute, 'value');
      if (!sub || sub.type === 'complex') throw scimError('invalidValue', `"sortBy" cannot sort by "${canonical}"`);
      attribute = sub;
      const values = arrayOf(top);
      json = `coalesce((select v->${key(sub.name)} from jsonb_array_elements(${values}) v where v->'primary' = 'true'::jsonb limit 1), ${values}->0->${key(sub.name)})`;
    } else {
      if (attribute.type === 'complex') throw scimError('invalidValue', `"sortBy" names "${canonical}", which is complex: sort by one of its sub-attributes`);
      json = resolved.parent ? `${top}->${key(attribute.name)}` : top;
    }
    expression =
      attribute.type === 'integer' || attribute.type === 'decimal'
        ? `(case when jsonb_typeof(${json}) = 'number' then (${json})::numeric end)`
        : attribute.type === 'boolean'
          ? `(case when jsonb_typeof(${json}) = 'boolean' then (${json})::boolean end)`
          : `(case when jsonb_typeof(${json}) = 'string' then ${json} #>> '{}' end)`;
  }
  const text = column ? column.kind === 'text' : attribute.type !== 'integer' && attribute.type !== 'decimal' && attribute.type !== 'boolean';
  const ordered = text ? `${attribute.caseExact ? expression : `lower(${expression})`} collate "C"` : expression;
  return `${ordered} ${direction}`;
}
