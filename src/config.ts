import path from 'node:path';

/**
 * The only reader of `process.env`. Every variable is documented in the README's
 * configuration table with the default given here.
 */
export interface Config {
  /** TCP port of the HTTP server. @default 4000 */
  port: number;
  /** Interface to bind. @default '0.0.0.0' */
  host: string;
  /**
   * The URL clients reach Gatehouse at, without a trailing slash; issuers and every URL in
   * OAuth metadata derive from it. @default `http://localhost:<PORT>`
   */
  publicUrl: string;
  /** PostgreSQL connection string; when unset the embedded PGlite database is used. */
  databaseUrl: string | undefined;
  /** Folder of the embedded database. @default './.data' */
  dataDir: string;
  /** `smtp://` or `smtps://` URL (with credentials) of the server mail is sent through; unset: none (see README). */
  smtpUrl: string | undefined;
  /** The From header of the mail Gatehouse sends. @default 'Gatehouse <no-reply@localhost>' */
  mailFrom: string;
  /** pino log level. @default 'info' */
  logLevel: string;
  /** Largest accepted request body in bytes. @default 1 MiB */
  bodyLimit: number;
  /** Deepest accepted GraphQL selection. @default 10 */
  maxQueryDepth: number;
  /** Highest accepted GraphQL query cost (connection fields multiply by their page size). @default 20000 */
  maxQueryComplexity: number;
  /** Largest `first`/`last` of a connection. @default 100 */
  maxPageSize: number;
  /** Most fields, fragment spreads and inline fragments a GraphQL document may hold as written. @default 1000 */
  maxQuerySelections: number;
  /** Most aliased fields a GraphQL document may hold. @default 100 */
  maxQueryAliases: number;
  /** Largest GraphQL response body over HTTP, in bytes; a larger result is replaced by an error. @default 16 MiB */
  maxResponseBytes: number;
  /** Audit events one `auditChainVerification` call re-hashes at most; longer chains are checked in steps. @default 10000 */
  auditVerifyMaxEvents: number;
  /** `auditChainVerification` calls per API key per minute. @default 10 */
  auditVerificationsPerMinute: number;
  /** Open GraphQL WebSocket connections per API key, across the process. @default 10 */
  wsConnectionsPerKey: number;
  /** Open GraphQL WebSocket connections per client address, across the process. @default 50 */
  wsConnectionsPerAddress: number;
  /** Operations (subscriptions, queries) one WebSocket connection may run at once. @default 100 */
  wsOperationsPerConnection: number;
  /** Whether the GraphQL endpoint answers introspection. @default true */
  introspection: boolean;
  /**
   * Batch relation loading with DataLoader. Only the benchmark turns this off, to measure
   * what batching buys. @default true
   */
  dataLoaderBatching: boolean;
  /** Compile GraphQL queries asked repeatedly (graphql/executor.ts). */
  graphqlJit: boolean;
  /**
   * Whether Gatehouse sits behind proxies it trusts: `false`, `true` (any peer), or a
   * comma-separated list of proxy addresses/CIDRs. When set, the client IP comes from
   * `X-Forwarded-For` and a proxy's `X-Request-Id` is kept as the request id. @default false
   */
  trustProxy: boolean | string;
  /** How often an open WebSocket's API key is checked again (revocation, expiry). @default 30000 */
  subscriptionRevalidateMs: number;
  /** How long one subscription event may take to be sent before the consumer counts as too slow and is disconnected (close code 4413). @default 30000 */
  subscriptionStallMs: number;
  /** How often audit retention runs, in milliseconds; 0 turns it off. @default 3600000 (hourly) */
  retentionIntervalMs: number;
  /** Base64 of 32 random bytes that seal secrets at rest. Required with DATABASE_URL; in embedded mode generated into the data folder. */
  masterKey: string | undefined;
  /**
   * Let outbound fetches (webhook deliveries, clients' and trusted issuers' `jwks_uri`) reach
   * private, loopback and link-local addresses, over http too: development only. @default false
   */
  allowPrivateTargets: boolean;
  /** Timeout of one webhook HTTP attempt. @default 10000 */
  webhookTimeoutMs: number;
  /** Seconds to wait before each retry of a failed delivery; its length is the number of retries. @default 5,300,1800,7200,18000,36000,36000 (about 28 hours) */
  webhookRetrySchedule: number[];
  /** An endpoint failing for this long (and then exhausting a delivery's retries) is disabled. @default 432000000 (5 days) */
  webhookDisableAfterMs: number;
  /** Deliveries sent at once per process. @default 8 */
  webhookConcurrency: number;
  /** How often each process looks for due webhook deliveries besides being woken by commits. @default 1000 */
  webhookPollMs: number;
  /** Seconds to wait before each retry of a back-channel logout notice; its length is the number of retries. @default 5,30,120,600,1800 */
  backchannelLogoutRetrySchedule: number[];
  /** Days a sign-in trace of an SSO connection stays queryable (GraphQL `ssoTraces`). @default 14 */
  ssoTraceRetentionDays: number;
  /** Failed authentications per client IP per minute before 429 (and no more audit rows). @default 30 */
  authFailuresPerMinute: number;
  /** SCIM requests one directory may make per minute and process before 429 with Retry-After (Entra needs 25/s). @default 6000 */
  scimRequestsPerMinute: number;
  /**
   * Anonymous failed authentications audited per environment per minute (any addresses); the
   * ones beyond are still refused, and counted into one `audit.failures_suppressed` event. @default 120
   */
  anonymousFailureAuditsPerMinute: number;
  /** Milliseconds to wait for in-flight requests on SIGTERM before forcing exit. @default 10000 */
  shutdownTimeoutMs: number;
}

export class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return value;
}

function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/** Retries of one webhook delivery at most: a delivery's attempts are listed whole in GraphQL. */
export const MAX_WEBHOOK_RETRIES = 19;

function retrySchedule(env: NodeJS.ProcessEnv, name: string, fallback: number[], maxRetries: number): number[] {
  const raw = env[name];
  if (!raw) return fallback;
  const steps = raw.split(',').map((step) => Number(step.trim()));
  if (steps.some((step) => !Number.isFinite(step) || step < 0)) {
    throw new ConfigError(`${name} must be comma-separated non-negative seconds`);
  }
  if (steps.length > maxRetries) {
    throw new ConfigError(`${name} may list at most ${maxRetries} retries`);
  }
  return steps;
}

/** Retries of one back-channel logout at most: past an hour or so, telling an application is moot. */
export const MAX_LOGOUT_RETRIES = 10;

function trustProxy(env: NodeJS.ProcessEnv): boolean | string {
  const raw = env.GATEHOUSE_TRUST_PROXY?.trim();
  if (!raw) return false;
  if (['true', 'false', 'yes', 'no', 'on', 'off'].includes(raw.toLowerCase())) return bool(env, 'GATEHOUSE_TRUST_PROXY', false);
  // A bare hop count cannot tell a proxy from a client that sends X-Forwarded-For itself.
  if (!/^[0-9a-fA-F.:/,\s]+$/.test(raw) || /^\d+$/.test(raw)) {
    throw new ConfigError('GATEHOUSE_TRUST_PROXY must be true, false, or comma-separated proxy addresses/CIDRs');
  }
  return raw;
}

function smtpUrl(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.GATEHOUSE_SMTP_URL?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // The value may hold a password: never echoed.
    throw new ConfigError('GATEHOUSE_SMTP_URL must be an smtp:// or smtps:// URL');
  }
  if (!['smtp:', 'smtps:'].includes(url.protocol) || !url.hostname) throw new ConfigError('GATEHOUSE_SMTP_URL must be an smtp:// or smtps:// URL');
  return raw;
}

function mailFrom(env: NodeJS.ProcessEnv): string {
  const raw = env.GATEHOUSE_MAIL_FROM?.trim() || 'Gatehouse <no-reply@localhost>';
  // A display name and an address, or an address: one line, no header injection.
  if (/[\r\n]/.test(raw) || !/^(?:[^<>@]*<[^<>@\s]+@[^<>@\s]+>|[^<>@\s]+@[^<>@\s]+)$/.test(raw)) {
    throw new ConfigError('GATEHOUSE_MAIL_FROM must be an address or "Name <address>" on one line');
  }
  return raw;
}

function publicUrl(env: NodeJS.ProcessEnv, port: number): string {
  const raw = env.GATEHOUSE_PUBLIC_URL?.trim();
  if (!raw) return `http://localhost:${port}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('GATEHOUSE_PUBLIC_URL must be an absolute http(s) URL');
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.search || url.hash || url.username || url.password) {
    throw new ConfigError('GATEHOUSE_PUBLIC_URL must be an http(s) URL without query, fragment or credentials');
  }
  return url.toString().replace(/\/+$/, '');
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  const port = int(env, 'PORT', 4000);
  return {
    port,
    publicUrl: publicUrl(env, port),
    host: env.HOST || '0.0.0.0',
    databaseUrl,
    dataDir: path.resolve(env.GATEHOUSE_DATA_DIR || '.data'),
    smtpUrl: smtpUrl(env),
    mailFrom: mailFrom(env),
    logLevel: env.LOG_LEVEL || 'info',
    bodyLimit: int(env, 'GATEHOUSE_BODY_LIMIT', 1024 * 1024, 1024),
    maxQueryDepth: int(env, 'GATEHOUSE_MAX_QUERY_DEPTH', 10, 2),
    maxQueryComplexity: int(env, 'GATEHOUSE_MAX_QUERY_COMPLEXITY', 20_000, 10),
    maxPageSize: int(env, 'GATEHOUSE_MAX_PAGE_SIZE', 100, 1),
    maxQuerySelections: int(env, 'GATEHOUSE_MAX_QUERY_SELECTIONS', 1000, 10),
    maxQueryAliases: int(env, 'GATEHOUSE_MAX_QUERY_ALIASES', 100, 0),
    maxResponseBytes: int(env, 'GATEHOUSE_MAX_RESPONSE_BYTES', 16 * 1024 * 1024, 1024),
    auditVerifyMaxEvents: int(env, 'GATEHOUSE_AUDIT_VERIFY_MAX_EVENTS', 10_000, 1),
    auditVerificationsPerMinute: int(env, 'GATEHOUSE_AUDIT_VERIFICATIONS_PER_MINUTE', 10, 1),
    wsConnectionsPerKey: int(env, 'GATEHOUSE_WS_CONNECTIONS_PER_KEY', 10, 1),
    wsConnectionsPerAddress: int(env, 'GATEHOUSE_WS_CONNECTIONS_PER_ADDRESS', 50, 1),
    wsOperationsPerConnection: int(env, 'GATEHOUSE_WS_OPERATIONS_PER_CONNECTION', 100, 1),
    introspection: bool(env, 'GATEHOUSE_INTROSPECTION', true),
    dataLoaderBatching: bool(env, 'GATEHOUSE_DATALOADER_BATCHING', true),
    graphqlJit: bool(env, 'GATEHOUSE_GRAPHQL_JIT', true),
    trustProxy: trustProxy(env),
    masterKey: env.GATEHOUSE_MASTER_KEY || undefined,
    // GATEHOUSE_WEBHOOK_ALLOW_PRIVATE_TARGETS is its former name, still read.
    allowPrivateTargets: bool(env, 'GATEHOUSE_ALLOW_PRIVATE_TARGETS', bool(env, 'GATEHOUSE_WEBHOOK_ALLOW_PRIVATE_TARGETS', false)),
    webhookTimeoutMs: int(env, 'GATEHOUSE_WEBHOOK_TIMEOUT_MS', 10_000, 100),
    webhookRetrySchedule: retrySchedule(env, 'GATEHOUSE_WEBHOOK_RETRY_SCHEDULE', [5, 300, 1800, 7200, 18000, 36000, 36000], MAX_WEBHOOK_RETRIES),
    backchannelLogoutRetrySchedule: retrySchedule(env, 'GATEHOUSE_BACKCHANNEL_LOGOUT_RETRY_SCHEDULE', [5, 30, 120, 600, 1800], MAX_LOGOUT_RETRIES),
    ssoTraceRetentionDays: int(env, 'GATEHOUSE_SSO_TRACE_RETENTION_DAYS', 14, 1),
    webhookDisableAfterMs: int(env, 'GATEHOUSE_WEBHOOK_DISABLE_AFTER_MS', 5 * 24 * 60 * 60 * 1000),
    webhookConcurrency: int(env, 'GATEHOUSE_WEBHOOK_CONCURRENCY', 8, 1),
    webhookPollMs: int(env, 'GATEHOUSE_WEBHOOK_POLL_MS', 1000, 10),
    retentionIntervalMs: int(env, 'GATEHOUSE_RETENTION_INTERVAL_MS', 3_600_000),
    subscriptionRevalidateMs: int(env, 'GATEHOUSE_SUBSCRIPTION_REVALIDATE_MS', 30_000, 100),
    subscriptionStallMs: int(env, 'GATEHOUSE_SUBSCRIPTION_STALL_MS', 30_000, 100),
    authFailuresPerMinute: int(env, 'GATEHOUSE_AUTH_FAILURES_PER_MINUTE', 30, 1),
    scimRequestsPerMinute: int(env, 'GATEHOUSE_SCIM_REQUESTS_PER_MINUTE', 6000, 1),
    anonymousFailureAuditsPerMinute: int(env, 'GATEHOUSE_ANONYMOUS_FAILURE_AUDITS_PER_MINUTE', 120, 1),
    shutdownTimeoutMs: int(env, 'GATEHOUSE_SHUTDOWN_TIMEOUT_MS', 10_000),
  };
}
