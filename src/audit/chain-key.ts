/**
 * The chain an audit event belongs to, as the `audit_event_chain_key()` SQL function computes
 * it (migrations/sql/audit_event_chain_key.sql): its environment, `wks:<workspace id>` for a
 * workspace-level event, `global` for one tied to no workspace.
 */
export const chainKeyOf = (scope: { environmentId: string | null; workspaceId: string | null }): string =>
  scope.environmentId ?? (scope.workspaceId ? `wks:${scope.workspaceId}` : 'global');
