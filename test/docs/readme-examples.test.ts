import { readFileSync } from 'node:fs';
import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';

/** The README's GraphQL examples are documentation people copy: they must stay valid. */
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const schema = buildSchema(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8'));

function graphqlBlocks(): string[] {
  const blocks = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((match) => match[1]);
  // Queries embedded in the curl and JavaScript examples too.
  const embedded = [...readme.matchAll(/"query": ?"((?:[^"\\]|\\.)*)"/g)].map((match) => JSON.parse(`"${match[1]}"`) as string);
  const templates = [...readme.matchAll(/const query = `([\s\S]*?)`;/g)].map((match) => match[1]);
  return [...blocks, ...embedded, ...templates];
}

describe('README examples', () => {
  const examples = graphqlBlocks();

  it('has examples to check', () => {
    expect(examples.length).toBeGreaterThanOrEqual(7);
  });

  it.each(examples.map((example, index) => [index, example]))('example %i is valid against schema.graphql', (_index, example) => {
    // Placeholder ids like "env_…" are fine: only the shape is checked.
    const errors = validate(schema, parse(example as string));
    expect(errors.map((error) => error.message)).toEqual([]);
  });
});
