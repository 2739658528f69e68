import type { ApolloServerPlugin } from '@apollo/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { getVariableValues, GraphQLError, parse, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { defaultPageSize } from '../db/pagination.js';
import { checkDocumentShape, measureOperation, QueryShapeError } from './cost.js';

/**
 * What one GraphQL operation may ask for. Checked before anything runs, over HTTP and WebSocket
 * alike: the document's shape before validation, its depth and cost once variables are known.
 */
export interface QueryLimits {
  maxDepth: number;
  maxComplexity: number;
  maxPageSize: number;
  /** Fields, fragment spreads and inline fragments as written in the document. */
  maxSelections: number;
  /** Aliased fields as written in the document. */
  maxAliases: number;
}

/** Tokens a document may have; the parser stops counting past it, before building a tree. */
export const MAX_DOCUMENT_TOKENS = 20_000;

/** `__schema` per operation: the whole schema once is what tools need; twice is only load. */
const MAX_SCHEMA_INTROSPECTIONS = 1;
/** `__type(name:)` per operation. */
const MAX_TYPE_INTROSPECTIONS = 20;

function tooComplex(message: string, reason: string, details: Record<string, number> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX', reason, ...details, http: { status: 400 } } });
}

/** Throws QUERY_TOO_COMPLEX when the document as written is over the selection or alias cap. */
export function checkDocumentLimits(limits: QueryLimits, document: DocumentNode): void {
  try {
    checkDocumentShape(document, limits);
  } catch (error) {
    if (error instanceof QueryShapeError) throw tooComplex(error.message, error.reason, error.details);
    throw error;
  }
}

/**
 * Throws a GraphQLError (QUERY_TOO_DEEP, QUERY_TOO_COMPLEX or BAD_USER_INPUT) when a validated
 * operation is over the limits. Shared by HTTP (an Apollo plugin) and WebSocket operations.
 */
export function checkQueryLimits(
  limits: QueryLimits,
  request: { schema: GraphQLSchema; document: DocumentNode; operation?: OperationDefinitionNode | null; variables?: Record<string, unknown> | null },
): void {
  const { operation, schema } = request;
  if (!operation) return;
  // Variables are coerced as execution will coerce them, so `first: $n` is priced by its value.
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {});
  if (coerced.errors) {
    const [first] = coerced.errors;
    throw new GraphQLError(first.message, { nodes: first.nodes, extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
  }
  let measure;
  try {
    measure = measureOperation(schema, request.document, operation, coerced.coerced, {
      defaultSize: defaultPageSize(limits.maxPageSize),
      maxSize: limits.maxPageSize,
    });
  } catch (error) {
    if (error instanceof QueryShapeError) throw tooComplex(error.message, error.reason, error.details);
    throw error;
  }
  const { maxDepth, maxComplexity } = limits;
  if (measure.depth > maxDepth) {
    throw new GraphQLError(`The query is ${measure.depth} levels deep; the limit is ${maxDepth}`, {
      extensions: { code: 'QUERY_TOO_DEEP', depth: measure.depth, maxDepth, http: { status: 400 } },
    });
  }
  if ((measure.counts.get('__schema') ?? 0) > MAX_SCHEMA_INTROSPECTIONS) {
    throw tooComplex(`At most ${MAX_SCHEMA_INTROSPECTIONS} __schema per operation`, 'query.introspection_repeated');
  }
  if ((measure.counts.get('__type') ?? 0) > MAX_TYPE_INTROSPECTIONS) {
    throw tooComplex(`At most ${MAX_TYPE_INTROSPECTIONS} __type per operation`, 'query.introspection_repeated');
  }
  for (const [field, limit] of measure.perOperation) {
    const count = measure.counts.get(field) ?? 0;
    if (count > limit) {
      throw tooComplex(`\`${field}\` may run at most ${limit} time(s) per operation; this one asks ${count}`, 'query.field_repeated', { limit });
    }
  }
  const complexity = measure.cost;
  if (complexity > maxComplexity) {
    throw new GraphQLError(`The query costs ${complexity}; the limit is ${maxComplexity}. Ask for smaller pages.`, {
      extensions: { code: 'QUERY_TOO_COMPLEX', reason: 'query.cost', complexity, maxComplexity, http: { status: 400 } },
    });
  }
}

/**
 * The document-shape check for GraphQL over HTTP, before Apollo validates the document: Apollo
 * has no hook between parsing and validation whose error it answers as a 400, and validating
 * thousands of overlapping fields takes hundreds of milliseconds. Parses once more (linear,
 * bounded by the token cap); a document that does not parse is left to Apollo to report.
 */
export function documentGuard(limits: QueryLimits) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const source = queryOf(request);
    if (source === undefined) return;
    let document: DocumentNode;
    try {
      document = parse(source, { maxTokens: MAX_DOCUMENT_TOKENS, noLocation: true });
    } catch {
      return;
    }
    try {
      checkDocumentLimits(limits, document);
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      const { http: _http, ...extensions } = error.extensions as Record<string, unknown>;
      await reply.code(400).send({ errors: [{ message: error.message, extensions: { ...extensions, requestId: request.id } }] });
    }
  };
}

function queryOf(request: FastifyRequest): string | undefined {
  const from = request.method === 'GET' ? request.query : request.body;
  const query = from && typeof from === 'object' ? (from as { query?: unknown }).query : undefined;
  return typeof query === 'string' ? query : undefined;
}

export function queryLimitsPlugin(limits: QueryLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, schema, operation }) {
          checkQueryLimits(limits, { schema, document, operation, variables: request.variables });
        },
      };
    },
  };
}
