import { isObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { getMetadataStorage, type BuildSchemaOptions } from 'type-graphql';

/**
 * Calls the `@FieldResolver` methods that need nothing of type-graphql at run time directly.
 *
 * type-graphql wraps each resolver method in a function that, on every call, builds a resolver
 * data object, asks its container for the class instance, runs the (empty) middleware chain and
 * sorts the method's parameter list again (its `getParams`) before mapping it to values. On a
 * nested list those wrappers run once per item and field: in the 50-organization bench query
 * the sorts alone were 14% of the bytes allocated per request. A method whose parameters are
 * only `@Root()` (untyped: passed as is), `@Ctx()` and `@Info()`, with no middleware and no
 * `@Authorized`, gets the same arguments from a plain function made once here. Everything else
 * (arguments, which type-graphql converts to class instances) keeps type-graphql's wrapper.
 *
 * `options` are those the schema was built with: global middlewares or an auth checker run in
 * type-graphql's wrapper, so with either nothing is rewired.
 *
 * Returns the `Type.field` names it rewired (a test checks the hot ones are among them).
 */
export function directFieldResolvers(schema: GraphQLSchema, options: Pick<BuildSchemaOptions, 'globalMiddlewares' | 'authChecker' | 'resolvers'>): string[] {
  if (options.globalMiddlewares?.length || options.authChecker) return [];
  // Only the resolver classes the schema was built from, first one first, as type-graphql picks them.
  const registered = new Set<unknown>(Array.isArray(options.resolvers) ? options.resolvers : []);
  const storage = getMetadataStorage();
  const typeNames = new Map<unknown, string>(storage.objectTypes.map((type) => [type.target, type.name]));
  const instances = new Map<new () => object, object>();
  const rewired: string[] = [];
  for (const resolver of storage.fieldResolvers) {
    if (resolver.kind !== 'external' || resolver.middlewares?.length || resolver.roles !== undefined) continue;
    const typeName = typeNames.get(resolver.getObjectType?.());
    const type = typeName ? schema.getType(typeName) : undefined;
    const field = isObjectType(type) ? type.getFields()[resolver.schemaName] : undefined;
    const target = resolver.target as new () => Record<string, unknown>;
    if (!field || target.length > 0 || !registered.has(target) || rewired.includes(`${typeName}.${resolver.schemaName}`)) continue;
    const params = [...(resolver.params ?? [])].sort((a, b) => a.index - b.index);
    // Where each parameter comes from among (root, args, context, info); -1: not handled here.
    const sources = params.map((param) => {
      if (param.kind === 'root') return !param.propertyName && !param.getType ? 0 : -1;
      if (param.kind === 'context') return param.propertyName ? -1 : 2;
      if (param.kind === 'info') return 3;
      return -1;
    });
    if (sources.includes(-1) || sources.some((source, index) => params[index].index !== index)) continue;
    let instance = instances.get(target);
    if (!instance) instances.set(target, (instance = new target()));
    const method = (instance as Record<string, unknown>)[resolver.methodName];
    if (typeof method !== 'function') continue;
    field.resolve = bind(method as (...args: unknown[]) => unknown, instance, sources);
    rewired.push(`${typeName}.${resolver.schemaName}`);
  }
  return rewired;
}

/** A resolver calling `method` on `instance` with (root, args, context, info) picked by `sources`, without building arrays. */
function bind(method: (...args: unknown[]) => unknown, instance: object, sources: number[]): GraphQLFieldResolver<unknown, unknown> {
  const pick = (source: number, root: unknown, args: unknown, context: unknown, info: unknown) =>
    source === 0 ? root : source === 1 ? args : source === 2 ? context : info;
  const [a, b, c] = sources;
  switch (sources.length) {
    case 0:
      return () => method.call(instance);
    case 1:
      return (root, args, context, info) => method.call(instance, pick(a, root, args, context, info));
    case 2:
      return (root, args, context, info) => method.call(instance, pick(a, root, args, context, info), pick(b, root, args, context, info));
    case 3:
      return (root, args, context, info) =>
        method.call(instance, pick(a, root, args, context, info), pick(b, root, args, context, info), pick(c, root, args, context, info));
    default:
      return (root, args, context, info) => method.apply(instance, sources.map((source) => pick(source, root, args, context, info)));
  }
}
