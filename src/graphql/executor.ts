import type { GatewayExecutor, GatewayGraphQLRequestContext, GatewayInterface } from '@apollo/server-gateway-interface';
import {
  BREAK,
  execute,
  getNamedType,
  GraphQLError,
  isAbstractType,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

/**
 * How queries are executed over HTTP. Queries asked repeatedly (a dashboard's, a client's
 * polling) are compiled by graphql-jit into plain JavaScript functions, which need about half
 * the CPU of graphql-js's interpreter per request on nested reads; everything else runs on
 * graphql-js. Both give the same answers, errors included (test/graphql/executor.test.ts).
 *
 * `GATEHOUSE_GRAPHQL_JIT=false` (config `graphqlJit`) turns compilation off (graphql-js for
 * everything); `jitSettings.enabled` is the same switch for the whole process, for tests.
 */
export const jitSettings = {
  enabled: true,
  /**
   * A query is compiled the n-th time it is asked (same text and operation name), not before:
   * compiling costs several executions, so a query asked once is cheaper interpreted, and a
   * client sending ever-new documents cannot make the server compile each of them.
   */
  compileAfter: 2,
  /** Compiled queries (and counters of queries not compiled yet) kept, least recently used dropped. */
  maxEntries: 500,
};

/** What the executor did, for tests and diagnostics. */
export const jitStats = { compiled: 0, jitExecutions: 0, interpretedExecutions: 0, evicted: 0 };

interface Entry {
  seen: number;
  /** The compiled query; null when this operation is never compiled (see `compilable`). */
  compiled?: CompiledQuery | null;
}

export interface ExecuteArgs {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  contextValue: unknown;
  /** Identifies the document (Apollo's query hash); when absent the document is not cached. */
  cacheKey?: string;
}

/**
 * Abstract types whose `resolveType` returns a promise: graphql-jit needs the type name at once,
 * so operations selecting one of them are left to graphql-js (schema.ts makes Node's synchronous).
 */
function asyncAbstractTypes(schema: GraphQLSchema): Set<string> {
  const names = new Set<string>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (isAbstractType(type) && type.resolveType && type.resolveType.constructor.name === 'AsyncFunction') names.add(type.name);
  }
  return names;
}

/**
 * Only queries are compiled; introspection (whose resolvers graphql-js owns) and selections of
 * abstract types that resolve asynchronously are left to graphql-js.
 */
function compilable(schema: GraphQLSchema, unsafe: Set<string>, document: DocumentNode, operation: OperationDefinitionNode): boolean {
  if (operation.operation !== 'query') return false;
  let ok = true;
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const type = typeInfo.getType();
        if (node.name.value === '__schema' || node.name.value === '__type' || (type && unsafe.has(getNamedType(type).name))) {
          ok = false;
          return BREAK;
        }
        return undefined;
      },
    }),
  );
  return ok;
}

/**
 * graphql-jit's errors as graphql-js's `locatedError` would have made them: a GraphQLError with
 * the resolver's error as `originalError` (so the error formatter sees an AppError as such),
 * and a plain Error as the cause where graphql-js has one (a null in a non-null field).
 */
function asGraphQLJsError(error: GraphQLError): GraphQLError {
  const original = error.originalError;
  if (original instanceof GraphQLError && original.path) return original;
  if (error.constructor === GraphQLError && error.originalError) return error;
  const located = new GraphQLError(error.message, {
    path: error.path,
    originalError: original ?? new Error(error.message),
    extensions: original ? undefined : error.extensions,
  });
  if (error.locations) (located as { locations?: unknown }).locations = error.locations;
  return located;
}

/** Executes operations, compiling repeated queries (see `jitSettings`). */
export class GraphQLExecutor {
  private readonly entries = new Map<string, Entry>();
  private readonly unsafeTypes: Set<string>;

  constructor(
    private readonly schema: GraphQLSchema,
    /** Whether this server compiles at all (config `graphqlJit`). */
    private readonly compile = true,
  ) {
    this.unsafeTypes = asyncAbstractTypes(schema);
  }

  private entryFor(key: string): Entry {
    let entry = this.entries.get(key);
    if (entry) {
      // Most recently used last.
      this.entries.delete(key);
    } else {
      entry = { seen: 0 };
      if (this.entries.size >= jitSettings.maxEntries) {
        this.entries.delete(this.entries.keys().next().value!);
        jitStats.evicted += 1;
      }
    }
    this.entries.set(key, entry);
    return entry;
  }

  private compiledFor(args: ExecuteArgs): CompiledQuery | null {
    if (!this.compile || !jitSettings.enabled || args.cacheKey === undefined) return null;
    const entry = this.entryFor(`${args.cacheKey}\u0000${args.operationName ?? ''}`);
    if (entry.compiled !== undefined) return entry.compiled;
    entry.seen += 1;
    if (entry.seen < jitSettings.compileAfter) return null;
    if (!compilable(this.schema, this.unsafeTypes, args.document, args.operation)) {
      entry.compiled = null;
      return null;
    }
    const compiled = compileQuery(this.schema, args.document, args.operationName ?? undefined, {
      // graphql-js's semantics for @skip/@include on fragment spreads.
      useExperimentalPathBasedSkipInclude: true,
    });
    entry.compiled = isCompiledQuery(compiled) ? compiled : null;
    if (entry.compiled) jitStats.compiled += 1;
    return entry.compiled;
  }

  async execute(args: ExecuteArgs): Promise<ExecutionResult> {
    const compiled = this.compiledFor(args);
    if (!compiled) {
      jitStats.interpretedExecutions += 1;
      return execute({
        schema: this.schema,
        document: args.document,
        operationName: args.operationName,
        variableValues: args.variables,
        contextValue: args.contextValue,
      });
    }
    jitStats.jitExecutions += 1;
    const result = await compiled.query(undefined, args.contextValue, args.variables ?? {});
    // graphql-js's shape and key order (`errors` first), which Apollo keeps when it serializes.
    if (!result.errors?.length) return { data: result.data };
    return { errors: result.errors.map((error) => asGraphQLJsError(error)), data: result.data };
  }
}

/**
 * The executor as an Apollo Server "gateway": Apollo's documented way to run operations with an
 * executor of one's own. Apollo still parses, validates (against `schema`), runs every plugin
 * hook around execution, formats errors and serializes the response as without it.
 */
export function executorGateway(schema: GraphQLSchema, options: { compile: boolean }): GatewayInterface {
  const executor = new GraphQLExecutor(schema, options.compile);
  const run: GatewayExecutor = (request: GatewayGraphQLRequestContext) =>
    executor.execute({
      document: request.document,
      operation: request.operation,
      operationName: request.request.operationName ?? request.operationName ?? null,
      variables: request.request.variables,
      contextValue: request.context,
      cacheKey: request.queryHash,
    }) as ReturnType<GatewayExecutor>;
  return {
    async load() {
      return { executor: run };
    },
    onSchemaLoadOrUpdate(callback) {
      // Apollo reads the SDL only to report the schema to Apollo's cloud, which is not used.
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => {};
    },
    async stop() {},
  };
}
