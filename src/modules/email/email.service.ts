import type { EntityManager } from '@mikro-orm/core';
import type { RateBudget } from '../../auth/rate-budget.js';
import { requireScope } from '../../auth/principal.js';
import { newId } from '../../db/id.js';
import type { PageArgs } from '../../db/pagination.js';
import { AppError, notFound } from '../../errors/app-error.js';
import { EnvironmentRepository } from '../environment/environment.repository.js';
import { audit, environmentFor, inTransaction, type ServiceContext } from '../service-context.js';
import { checkEmail } from '../validation.js';
import type { OutboxMessage } from './email.entity.js';
import { OutboxRepository } from './email.repository.js';
import type { Delivery, Mailer, OutgoingMail } from './mailer.js';

/** Test messages a workspace may send per minute (per process). */
export const TEST_EMAILS_PER_MINUTE = 5;

/** Messages kept per environment in the development outbox; older ones are dropped. */
export const OUTBOX_KEEP = 200;

export interface EmailSettings {
  mailer: Mailer;
  /** Test messages per workspace per minute: a key may not turn the server's SMTP account into a relay. */
  testBudget: RateBudget;
}

/**
 * Sends a test message to check an environment's mail set-up: through SMTP when the server
 * has it, else into a DEVELOPMENT environment's outbox; a PRODUCTION environment without SMTP
 * is refused. Audited as `email.test_sent` with the recipient and how it went.
 */
export async function sendTestEmail(ctx: ServiceContext, settings: EmailSettings, input: { environmentId?: string | null; to: string }): Promise<Delivery> {
  requireScope(ctx.principal, 'environments:write');
  const environmentId = environmentFor(ctx, input.environmentId);
  const to = checkEmail(input.to, ['input', 'to']);
  // Per workspace, not per environment: a key that may create environments cannot multiply its budget.
  const wait = await settings.testBudget.take(ctx.principal.workspaceId);
  if (wait > 0) throw new AppError('RATE_LIMITED', 'email.too_many_tests', `Too many test messages for this environment; try again in ${wait} s`);
  const environment = await new EnvironmentRepository(ctx.em).getInWorkspace(ctx.principal.workspaceId, environmentId);
  const mail = {
    to,
    subject: `Gatehouse test message for ${environment.name}`,
    text: `This message checks that the environment "${environment.name}" can send email. No action is needed.`,
    purpose: 'test',
  };
  const audited = (em: EntityManager, delivery: Delivery) =>
    audit(ctx, em, { action: 'email.test_sent', environmentId, targets: [{ type: 'environment', id: environmentId, name: environment.name }], after: { to, via: delivery.via } });
  const field = ['input', 'environmentId'];
  if (settings.mailer.configured) {
    // The SMTP conversation happens outside any transaction: no database connection waits on it.
    const delivery = await settings.mailer.send(environment, mail, refuseToKeep, field);
    await inTransaction(ctx, async (em) => audited(em, delivery));
    return delivery;
  }
  // The outbox message and its audit event commit together.
  return inTransaction(ctx, async (em) => {
    const delivery = await settings.mailer.send(environment, mail, async (kept) => void (await keepInOutbox(em, environmentId, kept)), field);
    audited(em, delivery);
    return delivery;
  });
}

const refuseToKeep = (): Promise<void> => Promise.reject(new Error('a configured mailer sends; it keeps nothing'));

/** Keeps a development environment's message in its outbox, dropping all but the newest OUTBOX_KEEP. */
export async function keepInOutbox(em: EntityManager, environmentId: string, mail: OutgoingMail): Promise<OutboxMessage> {
  const outbox = new OutboxRepository(em);
  const message = outbox.create({ id: newId('outboxMessage'), environmentId, recipient: mail.to, subject: mail.subject, text: mail.text, html: mail.html ?? null, purpose: mail.purpose });
  await em.flush();
  await outbox.prune(environmentId, OUTBOX_KEEP);
  return message;
}

/**
 * The development outbox, newest first. Its messages will hold sign-in codes and links of the
 * environment's users, so reading it takes `users:write`, the scope that may already act on them.
 */
export async function listOutbox(ctx: ServiceContext, query: { environmentId?: string | null }, args: PageArgs, maxPageSize: number) {
  requireScope(ctx.principal, 'users:write');
  return new OutboxRepository(ctx.em).page(environmentFor(ctx, query.environmentId), args, maxPageSize);
}

export async function getOutboxMessage(ctx: ServiceContext, id: string): Promise<OutboxMessage> {
  requireScope(ctx.principal, 'users:write');
  const message = await new OutboxRepository(ctx.em).get(id);
  if (!ctx.principal.environmentIds.includes(message.environmentId)) throw notFound('outbox_message', id);
  return message;
}
