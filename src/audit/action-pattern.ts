import type { FilterQuery } from '@mikro-orm/core';
import { invalid } from '../errors/app-error.js';

/**
 * Audit action patterns, the one grammar of "which events": the `actions` filter of
 * `auditEvents` (list, live stream, export) and a webhook endpoint's `eventTypes`.
 *
 * - `organization.created` matches that action exactly;
 * - `organization.*` matches every action that starts with `organization.` (a prefix up to a
 *   dot: `user.*` does not match `users.created`), `organization.domain.*` a nested one;
 * - `*` matches every action, and so does an empty list.
 *
 * A list matches an action when any of its patterns does. The same rule has three forms, kept
 * in agreement by one table of cases (action-pattern.test.ts) run against all of them:
 *
 * - `compileActionPatterns`: the JavaScript matcher (events served from memory);
 * - `actionPatternCondition`: the query condition (the list, the table reads of streams, export);
 * - the webhook outbox trigger, `audit_event_outbox()` in migrations/sql/audit_event_outbox.sql,
 *   which matches each endpoint's `event_types` in the database as the event is inserted. It is
 *   the trigger form's one source, frozen as applied migrations are: a change of this grammar
 *   needs a new migration with a new trigger, and the shared test fails until it has one.
 */

/** Patterns in one list, at most. */
export const MAX_ACTION_PATTERNS = 50;

/**
 * `resource.verb`, `resource.part.verb` (a directory's `directory.user.created`), a prefix of
 * one followed by `.*`, or `*`: lowercase letters and `_` only.
 */
const ACTION_PATTERN = /^[a-z_]+(\.[a-z_]+){0,2}(\.\*)?$|^\*$/;

const ALL = '*';
const PREFIX_SUFFIX = '.*';

/** Whether one string is a valid action pattern. */
export const isActionPattern = (pattern: string): boolean => ACTION_PATTERN.test(pattern);

/** Checks a list of action patterns; BAD_USER_INPUT naming `field` otherwise. */
export function checkActionPatterns(patterns: readonly string[], field: string[]): void {
  if (patterns.length > MAX_ACTION_PATTERNS) throw invalid('audit.too_many_actions', `At most ${MAX_ACTION_PATTERNS} actions`, field);
  const bad = patterns.find((pattern) => !isActionPattern(pattern));
  // `!== undefined`: an empty string is a bad action too, not a pass.
  if (bad !== undefined) throw invalid('audit.invalid_action', `"${bad}" is not an action or an "x.*" prefix`, field);
}

/** What a list of patterns matches: everything, or these exact actions and these prefixes. */
export type ActionPatternSet = { all: true } | { all: false; exact: string[]; prefixes: string[] };

/**
 * A list of patterns taken apart (`organization.*` → the prefix `organization.`), the reading
 * every form shares. An empty list, or one with `*`, matches every action.
 */
export function parseActionPatterns(patterns: readonly string[]): ActionPatternSet {
  if (patterns.length === 0 || patterns.includes(ALL)) return { all: true };
  const exact = patterns.filter((pattern) => !pattern.endsWith(PREFIX_SUFFIX));
  const prefixes = patterns.filter((pattern) => pattern.endsWith(PREFIX_SUFFIX)).map((pattern) => pattern.slice(0, -1));
  return { all: false, exact, prefixes };
}

/** The JavaScript form: whether an action matches any of the patterns. */
export function compileActionPatterns(patterns: readonly string[]): (action: string) => boolean {
  const set = parseActionPatterns(patterns);
  if (set.all) return () => true;
  const exact = new Set(set.exact);
  const { prefixes } = set;
  return (action) => exact.has(action) || prefixes.some((prefix) => action.startsWith(prefix));
}

/** A LIKE pattern matching what starts with `prefix` (`_` is a LIKE wildcard; patterns hold no `%` or `\`). */
const likePrefix = (prefix: string): string => `${prefix.replace(/_/g, '\\_')}%`;

/**
 * The query form: a condition on an entity's `action` property, `{}` when the patterns match
 * every action. Validates the patterns first (BAD_USER_INPUT on `field`).
 */
export function actionPatternCondition<T extends { action: string }>(patterns: readonly string[], field: string[]): FilterQuery<T> {
  checkActionPatterns(patterns, field);
  const set = parseActionPatterns(patterns);
  if (set.all) return {} as FilterQuery<T>;
  const anyOf: FilterQuery<T>[] = [];
  if (set.exact.length) anyOf.push({ action: { $in: set.exact } } as FilterQuery<T>);
  for (const prefix of set.prefixes) anyOf.push({ action: { $like: likePrefix(prefix) } } as FilterQuery<T>);
  return { $or: anyOf } as FilterQuery<T>;
}
