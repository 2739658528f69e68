import {
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  getNullableType,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { Extensions } from 'type-graphql';

/**
 * How a field is priced, beyond the default of 1 plus its selection. Set on a field with
 * `@Cost({ … })` (a type-graphql extension), read by `measureOperation`.
 */
export interface FieldCost {
  /**
   * A plain list field (not a connection): the most items it can return. Its selection counts
   * that many times. The service that writes the list enforces the same maximum.
   */
  maxItems?: number;
  /** The field's own price instead of 1: work beyond reading a row, such as a COUNT or a re-hash. */
  price?: number;
  /** At most this many executions of the field per operation. */
  perOperation?: number;
}

/** Prices a field; see FieldCost. */
export const Cost = (fieldCost: FieldCost) => Extensions({ cost: fieldCost });

/**
 * The price of a field: its own `@Cost`; a list's `maxItems` may also come from its item type
 * (`@Extensions({ cost: { maxItems } })` on the class), for types that never come in larger lists.
 */
export function fieldCostOf(field: GraphQLField<unknown, unknown>): FieldCost | undefined {
  const own = (field.extensions as { cost?: FieldCost } | undefined)?.cost;
  const ofItem = (getNamedType(field.type).extensions as { cost?: FieldCost } | undefined)?.cost;
  return ofItem?.maxItems !== undefined && own?.maxItems === undefined ? { ...own, maxItems: ofItem.maxItems } : own;
}

/** Fields of `__Type` that return more types or fields: one of them per path keeps introspection linear. */
const TYPE_EXPANDING = new Set(['fields', 'inputFields', 'interfaces', 'possibleTypes']);
const INTROSPECTION_ROOTS = new Set(['__schema', '__type']);

/** Past this, a number only says "far too much"; it keeps products finite (0 × Infinity is NaN). */
const CEILING = 1e15;
const capped = (value: number) => Math.min(value, CEILING);

export class QueryShapeError extends Error {
  constructor(
    message: string,
    readonly reason: string,
    readonly details: Record<string, number> = {},
  ) {
    super(message);
  }
}

export interface OperationMeasure {
  depth: number;
  cost: number;
  /** Executions per operation of each field with a `perOperation` limit, and of `__schema` and `__type`. */
  counts: Map<string, number>;
  /** The `perOperation` limit of each counted `Type.field`. */
  perOperation: Map<string, number>;
}

type Tally = Omit<OperationMeasure, 'perOperation'>;

interface Walk {
  /** Inside `__schema`/`__type`: neither depth nor cost count, the type-expanding rule does. */
  introspection: boolean;
  /** Type-expanding introspection fields on the path so far. */
  expansions: number;
  /** Page size of the connection whose `nodes`/`edges` this selection set may hold. */
  pageSize: number | null;
}

const empty = (): Tally => ({ depth: 0, cost: 0, counts: new Map() });

function addInto(target: Tally, source: Tally, times = 1): void {
  target.cost = capped(target.cost + capped(source.cost * times));
  target.depth = Math.max(target.depth, source.depth);
  for (const [key, count] of source.counts) target.counts.set(key, capped((target.counts.get(key) ?? 0) + count * times));
}

/**
 * Depth, cost and per-field execution counts of one operation, in one pass over the document:
 * each fragment is measured once per context and reused wherever it is spread, so a document
 * of fragments that spread each other twice costs linear time to price (and prices
 * exponentially, which is then refused).
 *
 * - A field costs its price (1 by default) plus its selection.
 * - A connection (type `…Connection`) multiplies `nodes`/`edges` with their selection by its page
 *   size (`first ?? last`, else the default page size); `pageInfo` and `totalCount` count once.
 * - A plain list multiplies its selection by its `maxItems`, `nodes(ids:)` by the number of ids;
 *   an unpriced list by the page size cap (fail closed).
 * - Introspection counts neither depth nor cost; it is bounded instead by one `__schema` per
 *   operation (see checkMeasure) and one type-expanding field per path.
 */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  pages: { defaultSize: number; maxSize: number },
): OperationMeasure {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const memo = new Map<string, Tally>();
  const perOperation = new Map<string, number>();
  const inProgress = new Set<string>();

  const included = (node: FieldNode | { directives?: FieldNode['directives'] }) => {
    if (!node.directives?.length) return true;
    if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
    return getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
  };

  const measureSet = (set: SelectionSetNode, parent: GraphQLCompositeType, walk: Walk): Tally => {
    const tally = empty();
    for (const selection of set.selections) {
      if (!included(selection)) continue;
      if (selection.kind === Kind.FIELD) {
        addInto(tally, measureField(selection, parent, walk));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        if (isCompositeType(type)) addInto(tally, measureSet(selection.selectionSet, type, walk));
      } else {
        addInto(tally, measureFragment(selection.name.value, walk));
      }
    }
    return tally;
  };

  const measureFragment = (name: string, walk: Walk): Tally => {
    const key = `${name}|${walk.introspection}|${walk.expansions}|${walk.pageSize}`;
    const known = memo.get(key);
    if (known) return known;
    const fragment = fragments.get(name);
    const type = fragment ? schema.getType(fragment.typeCondition.name.value) : undefined;
    // Validation refuses cycles and unknown fragments before this runs; stay safe regardless.
    if (!fragment || !isCompositeType(type) || inProgress.has(key)) return empty();
    inProgress.add(key);
    const tally = measureSet(fragment.selectionSet, type, walk);
    inProgress.delete(key);
    memo.set(key, tally);
    return tally;
  };

  const measureField = (node: FieldNode, parent: GraphQLCompositeType, walk: Walk): Tally => {
    const name = node.name.value;
    if (name === '__typename') return empty();
    // The meta-fields are not among the root type's fields.
    const field =
      name === '__schema' ? SchemaMetaFieldDef
      : name === '__type' ? TypeMetaFieldDef
      : isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name]
      : undefined;
    const fieldType = field ? getNamedType(field.type) : undefined;

    if (INTROSPECTION_ROOTS.has(name) || walk.introspection) {
      const expansions = walk.expansions + (walk.introspection && TYPE_EXPANDING.has(name) ? 1 : 0);
      if (expansions > 1) {
        throw new QueryShapeError(
          `Introspection may follow at most one of ${[...TYPE_EXPANDING].join(', ')} per path`,
          'query.introspection_too_deep',
        );
      }
      const tally = node.selectionSet && isCompositeType(fieldType)
        ? measureSet(node.selectionSet, fieldType, { introspection: true, expansions, pageSize: null })
        : empty();
      const result: Tally = { depth: 0, cost: 0, counts: new Map(tally.counts) };
      if (INTROSPECTION_ROOTS.has(name)) result.counts.set(name, (result.counts.get(name) ?? 0) + 1);
      return result;
    }
    if (!field || !fieldType) return empty();

    const args = getArgumentValues(field, node, variables);
    const fieldCost = fieldCostOf(field);
    const connection = fieldType.name.endsWith('Connection');
    const pageSize = connection ? pageSizeOf(args, pages) : null;
    const child = node.selectionSet && isCompositeType(fieldType)
      ? measureSet(node.selectionSet, fieldType, { introspection: false, expansions: 0, pageSize })
      : empty();

    const price = fieldCost?.price ?? 1;
    const result = empty();
    if (walk.pageSize !== null && parent.name.endsWith('Connection') && isListType(getNullableType(field.type))) {
      // A page's `nodes`/`edges`: each item costs the field and its selection.
      addInto(result, { ...child, cost: capped(child.cost + price) }, walk.pageSize);
    } else {
      let times = 1;
      if (isListType(getNullableType(field.type)) && node.selectionSet) {
        times = Array.isArray(args.ids) ? args.ids.length : (fieldCost?.maxItems ?? pages.maxSize);
      }
      addInto(result, child, times);
      result.cost = capped(result.cost + price);
    }
    result.depth = child.depth + 1;
    if (fieldCost?.perOperation !== undefined) {
      const key = `${parent.name}.${name}`;
      perOperation.set(key, fieldCost.perOperation);
      result.counts.set(key, (result.counts.get(key) ?? 0) + 1);
    }
    return result;
  };

  const root = schema.getRootType(operation.operation);
  const tally = root ? measureSet(operation.selectionSet, root, { introspection: false, expansions: 0, pageSize: null }) : empty();
  return { ...tally, perOperation };
}

function pageSizeOf(args: Record<string, unknown>, pages: { defaultSize: number }): number {
  const size = typeof args.first === 'number' ? args.first : typeof args.last === 'number' ? args.last : pages.defaultSize;
  return Math.max(size, 1);
}

/** What a document may hold as written, checked before validation (which is itself work). */
export interface DocumentLimits {
  /** Fields, fragment spreads and inline fragments, as written. */
  maxSelections: number;
  /** Fields with an alias, as written. */
  maxAliases: number;
}

/**
 * Counts the selections and aliases of a whole document in one linear pass, without the
 * schema. Runs before validation: a document built to make validation slow (thousands of
 * aliases or fields that must be compared for overlap) is refused in milliseconds.
 */
export function checkDocumentShape(document: DocumentNode, limits: DocumentLimits): void {
  let selections = 0;
  let aliases = 0;
  const stack: SelectionSetNode[] = [];
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION || definition.kind === Kind.FRAGMENT_DEFINITION) stack.push(definition.selectionSet);
  }
  while (stack.length) {
    const set = stack.pop()!;
    for (const selection of set.selections) {
      selections += 1;
      if (selection.kind === Kind.FIELD && selection.alias) aliases += 1;
      if (selection.kind !== Kind.FRAGMENT_SPREAD && selection.selectionSet) stack.push(selection.selectionSet);
    }
    if (aliases > limits.maxAliases) {
      throw new QueryShapeError(`The document has more than ${limits.maxAliases} aliases`, 'query.too_many_aliases', {
        maxAliases: limits.maxAliases,
      });
    }
    if (selections > limits.maxSelections) {
      throw new QueryShapeError(`The document has more than ${limits.maxSelections} selections`, 'query.too_many_selections', {
        maxSelections: limits.maxSelections,
      });
    }
  }
}
