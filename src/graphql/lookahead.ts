import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/**
 * Whether the operation selects the field path `path` below the field being resolved (through
 * inline fragments and fragment spreads), e.g. `['nodes', 'user']` under a memberships
 * connection. A loader uses it to read a relation in the statement that reads its parents
 * instead of a statement of its own. A field excluded by `@skip`/`@include` still counts as
 * selected: that only costs a column the answer does not use, never an answer.
 *
 * The answer is remembered per field of the document (`info.fieldNodes` is one array for
 * every item of a list), so a list of 500 items walks the selection once.
 */
export function selects(info: GraphQLResolveInfo, path: readonly string[]): boolean {
  let byPath = remembered.get(info.fieldNodes);
  if (!byPath) remembered.set(info.fieldNodes, (byPath = new Map()));
  const key = path.join('.');
  let answer = byPath.get(key);
  if (answer === undefined) {
    answer = info.fieldNodes.some((node) => selectsBelow(node.selectionSet, path, info, new Set()));
    byPath.set(key, answer);
  }
  return answer;
}

const remembered = new WeakMap<readonly FieldNode[], Map<string, boolean>>();

function selectsBelow(set: SelectionSetNode | undefined, path: readonly string[], info: GraphQLResolveInfo, spread: Set<string>): boolean {
  if (!set) return false;
  if (path.length === 0) return true;
  const [name, ...rest] = path;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value === name && (rest.length === 0 || selectsBelow(selection.selectionSet, rest, info, spread))) return true;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (selectsBelow(selection.selectionSet, path, info, spread)) return true;
    } else {
      const fragmentName = selection.name.value;
      // A fragment spread many times at one level is walked once for the rest of the path.
      const walk = `${fragmentName}\u0000${path.join('.')}`;
      if (spread.has(walk)) continue;
      spread.add(walk);
      if (selectsBelow(info.fragments[fragmentName]?.selectionSet, path, info, spread)) return true;
    }
  }
  return false;
}
