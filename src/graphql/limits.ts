import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
// The CommonJS build: its ESM build imports graphql's .mjs files, a second copy of graphql
// beside the one type-graphql (CommonJS) builds the schema with.
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity/cjs';
import { defaultPageSize } from '../db/pagination.js';

/** Depth of the deepest field selection of an operation, following fragments (cycles ignored). */
export function operationDepth(document: DocumentNode, operation: OperationDefinitionNode): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const depthOf = (set: SelectionSetNode | undefined, seen: Set<string>): number => {
    if (!set) return 0;
    let deepest = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value.startsWith('__')) continue;
        deepest = Math.max(deepest, 1 + depthOf(selection.selectionSet, seen));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        deepest = Math.max(deepest, depthOf(selection.selectionSet, seen));
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || seen.has(name)) continue;
        deepest = Math.max(deepest, depthOf(fragment.selectionSet, new Set([...seen, name])));
      }
    }
    return deepest;
  };
  return depthOf(operation.selectionSet, new Set());
}

/**
 * A field costs 1 plus its children, except where one field returns many items:
 * - a connection (its type is named `…Connection`) returns `first ?? last` items, or the
 *   default page size when neither is given, so its children count that many times;
 * - a field with a list of `ids` (`nodes(ids:)`) returns one item per id.
 * Recognising connections by type, not by the arguments given, prices `memberships { … }`
 * without `first` at a full default page, which is what it returns.
 */
function pageSizeEstimator(defaultSize: number): ComplexityEstimator {
  return ({ field, args, childComplexity }) => {
    let type = field.type;
    while ('ofType' in type) type = type.ofType; // unwrap non-null and list
    if (type.name.endsWith('Connection')) {
      const size = typeof args.first === 'number' ? args.first : typeof args.last === 'number' ? args.last : defaultSize;
      return 1 + childComplexity * Math.max(size, 1);
    }
    if (Array.isArray(args.ids)) return 1 + childComplexity * args.ids.length;
    return 1 + childComplexity;
  };
}

/**
 * Rejects operations nested deeper than `maxDepth` or whose estimated cost exceeds
 * `maxComplexity`, before anything runs. Runs after variables are known, so `first: $n` is
 * priced by its value; a connection without `first`/`last` at the default page size under
 * the `maxPageSize` cap.
 */
export interface QueryLimits {
  maxDepth: number;
  maxComplexity: number;
  maxPageSize: number;
}

/**
 * Throws a GraphQLError (QUERY_TOO_DEEP, QUERY_TOO_COMPLEX or BAD_USER_INPUT) when an operation
 * is over the limits. Shared by HTTP (an Apollo plugin) and WebSocket operations.
 */
export function checkQueryLimits(
  limits: QueryLimits,
  request: { schema: GraphQLSchema; document: DocumentNode; operation?: OperationDefinitionNode | null; operationName?: string | null; variables?: Record<string, unknown> | null },
): void {
  const { maxDepth, maxComplexity } = limits;
  const depth = request.operation ? operationDepth(request.document, request.operation) : 0;
  if (depth > maxDepth) {
    throw new GraphQLError(`The query is ${depth} levels deep; the limit is ${maxDepth}`, {
      extensions: { code: 'QUERY_TOO_DEEP', depth, maxDepth, http: { status: 400 } },
    });
  }
  let complexity: number;
  try {
    complexity = getComplexity({
      schema: request.schema,
      query: request.document,
      operationName: request.operationName ?? undefined,
      variables: request.variables ?? undefined,
      estimators: [pageSizeEstimator(defaultPageSize(limits.maxPageSize))],
    });
  } catch (error) {
    // getComplexity coerces the variables first; a value of the wrong type is the
    // caller's input (BAD_USER_INPUT, 400), not a server error.
    if (error instanceof GraphQLError) {
      throw new GraphQLError(error.message, {
        nodes: error.nodes,
        extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
      });
    }
    throw error;
  }
  if (complexity > maxComplexity) {
    throw new GraphQLError(`The query costs ${complexity}; the limit is ${maxComplexity}. Ask for smaller pages.`, {
      extensions: { code: 'QUERY_TOO_COMPLEX', complexity, maxComplexity, http: { status: 400 } },
    });
  }
}

export function queryLimitsPlugin(limits: QueryLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, schema, operation }) {
          checkQueryLimits(limits, { schema, document, operation, operationName: request.operationName, variables: request.variables });
        },
      };
    },
  };
}
