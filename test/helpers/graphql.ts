import { expect } from 'vitest';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type DocumentNode } from 'graphql';

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
}

export interface GraphQLClient {
  key: string;
  request<T = Record<string, any>, V = Record<string, unknown>>(
    document: string | DocumentNode | TypedDocumentNode<T, V>,
    variables?: V,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<T>>;
  /** Like request, but fails the test on any GraphQL error and returns the data. */
  data<T = Record<string, any>, V = Record<string, unknown>>(
    document: string | DocumentNode | TypedDocumentNode<T, V>,
    variables?: V,
  ): Promise<T>;
  withKey(key: string): GraphQLClient;
}

/** A minimal GraphQL-over-HTTP client that sends the API key the way any client would. */
export function graphqlClient(url: string, key: string): GraphQLClient {
  const request: GraphQLClient['request'] = async (document, variables, headers = {}) => {
    const query = typeof document === 'string' ? document : print(document);
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...headers,
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: any; errors?: any };
    return { status: response.status, headers: response.headers, data: body.data, errors: body.errors };
  };
  return {
    key,
    request,
    async data(document, variables) {
      const result = await request(document, variables);
      if (result.errors?.length) {
        throw new Error(`GraphQL errors: ${JSON.stringify(result.errors, null, 2)}`);
      }
      return result.data as any;
    },
    withKey: (other) => graphqlClient(url, other),
  };
}

export type UserErrors = { field: string[] | null; code: string; message: string }[];

/** The `userErrors` of a payload that failed for exactly one reason. */
export const oneError = (code: string, field: string[]) => [{ code, field, message: expect.any(String) }];
