import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, Kind, visit, type DocumentNode, type ValueNode } from 'graphql';
import { findUncleanText, isCleanText, MAX_JSON_DEPTH } from '../modules/text.js';

/**
 * Why a string cannot be stored, or null: PostgreSQL text and jsonb refuse U+0000, and a lone
 * UTF-16 surrogate has no UTF-8 form (the audit JSON would fail with a 500).
 */
function stringProblem(value: string): string | null {
  return isCleanText(value) ? null : 'strings must be well-formed Unicode without the NUL character (U+0000)';
}

function checkValue(value: unknown): string | null {
  const at = findUncleanText(value);
  return at === null ? null : `a string is malformed or the input is nested deeper than ${MAX_JSON_DEPTH} levels (at ${at})`;
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
      if (!problem) problem = stringProblem(node.value);
    },
    Argument(node) {
      if (!problem && literalDepth(node.value) > MAX_JSON_DEPTH) problem = `input is nested deeper than ${MAX_JSON_DEPTH} levels`;
    },
  });
  return problem;
}

/** Throws BAD_USER_INPUT (`input.invalid`) for input the guard refuses; for HTTP and WebSocket operations alike. */
export function checkInput(document: DocumentNode, variables: Record<string, unknown> | null | undefined): void {
  const problem = checkValue(variables ?? {}) ?? checkDocument(document);
  if (problem) {
    throw new GraphQLError(`Invalid input: ${problem}`, {
      extensions: { code: 'BAD_USER_INPUT', reason: 'input.invalid', http: { status: 400 } },
    });
  }
}

/**
 * Rejects input that PostgreSQL cannot store or that is built to exhaust the server: the NUL
 * character and unpaired surrogates (which would surface as a 500) and absurdly deep nesting. One check for every operation, before anything runs.
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

