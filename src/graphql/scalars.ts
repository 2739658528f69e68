import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { JSONObjectResolver } from 'graphql-scalars';

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function parseDateTime(value: unknown): Date {
  if (typeof value !== 'string' || !ISO_DATE_TIME.test(value)) {
    throw new GraphQLError('DateTime must be an ISO 8601 string with a time zone, e.g. 2026-01-31T12:00:00Z', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new GraphQLError(`"${value}" is not a valid date-time`, { extensions: { code: 'BAD_USER_INPUT' } });
  }
  return date;
}

/** ISO 8601 date-times, always serialised in UTC (`2026-11-27T10:00:00.000Z`). */
export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An ISO 8601 date-time. Output is always UTC with milliseconds, e.g. `2026-11-27T10:00:00.000Z`.',
  serialize(value) {
    const date = value instanceof Date ? value : new Date(String(value));
    if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime cannot represent an invalid date');
    return date.toISOString();
  },
  parseValue: parseDateTime,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) {
      throw new GraphQLError('DateTime must be a string', { extensions: { code: 'BAD_USER_INPUT' } });
    }
    return parseDateTime(ast.value);
  },
});

/** A free-form JSON object. */
export const JSONObjectScalar = JSONObjectResolver;
