import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { AppError, PUBLIC_CODE } from '../errors/app-error.js';

const INTERNAL: GraphQLFormattedError = {
  message: 'Internal server error',
  extensions: { code: 'INTERNAL_SERVER_ERROR' },
};

/**
 * The GraphQL transport's one error serializer. Domain errors keep their message and carry
 * `code` (the class) and `reason` (the stable domain code); anything unexpected is logged and
 * replaced by a generic error. The request id is added by the request-id plugin. Failed
 * authentication (thrown by the context function) is serialised here too, like any domain error.
 */
export function createErrorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const unwrapped = unwrapResolverError(error);
    // A failed authentication arrives from the context function wrapped only to carry its HTTP status.
    const original = unwrapped instanceof GraphQLError && unwrapped.originalError instanceof AppError ? unwrapped.originalError : unwrapped;
    if (original instanceof AppError) {
      if (!original.expose) {
        logger.error({ err: original, detail: original.detail }, 'unexposed error');
        return { ...INTERNAL, path: formatted.path };
      }
      return {
        message: original.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: {
          code: PUBLIC_CODE[original.kind],
          reason: original.code,
          ...(original.field ? { field: original.field } : {}),
          // Set by the context function, which runs before the request-id plugin can.
          ...(formatted.extensions?.requestId ? { requestId: formatted.extensions.requestId } : {}),
        },
      };
    }
    // Parse, validation, variable-coercion and limit errors are GraphQLErrors with a code of their own.
    if (original instanceof GraphQLError && !original.originalError) {
      const code = original.extensions?.code;
      return { ...formatted, extensions: { ...formatted.extensions, code: code ?? 'BAD_USER_INPUT' } };
    }
    if (original instanceof GraphQLError && original.originalError instanceof GraphQLError) {
      return formatted;
    }
    // A GraphQLError wrapping a coercion failure (e.g. an invalid DateTime literal) is the user's input.
    if (original instanceof GraphQLError && formatted.extensions?.code === 'BAD_USER_INPUT') return formatted;
    logger.error({ err: original }, 'unexpected error in a GraphQL operation');
    return { ...INTERNAL, path: formatted.path };
  };
}
