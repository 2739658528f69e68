import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, Kind, visit, type DocumentNode, type ValueNode } from 'graphql';

/** Deepest nesting accepted in variables (JSON metadata, attribute values). */
const MAX_NESTING = 16;

function hasNul(value: string): boolean {
  return value.includes('\u0000');
}

function checkValue(value: unknown, depth: number): string | null {
  if (depth > MAX_NESTING) return `input is nested deeper than ${MAX_NESTING} levels`;
  if (typeof value === 'string') return hasNul(value) ? 'strings must not contain the NUL character (U+0000)' : null;
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = checkValue(item, depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      const problem = hasNul(key) ? 'keys must not contain the NUL character (U+0000)' : checkValue(inner, depth + 1);
      if (problem) return problem;
    }
  }
  return null;
}

function literalDepth(node: ValueNode): number {
  if (node.kind === Kind.OBJECT) return 1 + Math.max(0, ...node.fields.map((field) => literalDepth(field.value)));
  if (node.kind === Kind.LIST) return 1 + Math.max(0, ...node.values.map(literalDepth));
  return 0;
}

function checkDocument(document: DocumentNode): string | null {
  let problem: string | null = null;
  visit(document, {
    StringValue(node) {
      if (!problem && hasNul(node.value)) problem = 'strings must not contain the NUL character (U+0000)';
    },
    Argument(node) {
      if (!problem && literalDepth(node.value) > MAX_NESTING) problem = `input is nested deeper than ${MAX_NESTING} levels`;
    },
  });
  return problem;
}

/** Throws BAD_USER_INPUT (`input.invalid`) for input the guard refuses; for HTTP and WebSocket operations alike. */
export function checkInput(document: DocumentNode, variables: Record<string, unknown> | null | undefined): void {
  const problem = checkValue(variables ?? {}, 0) ?? checkDocument(document);
  if (problem) {
    throw new GraphQLError(`Invalid input: ${problem}`, {
      extensions: { code: 'BAD_USER_INPUT', reason: 'input.invalid', http: { status: 400 } },
    });
  }
}

/**
 * Rejects input that PostgreSQL cannot store or that is built to exhaust the server: the NUL
 * character (PostgreSQL text and jsonb refuse it, which would surface as a 500) and absurdly
 * deep nesting. One check for every operation, before anything runs.
 */
export function inputGuardPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          checkInput(document, request.variables);
        },
      };
    },
  };
}

