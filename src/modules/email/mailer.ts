import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import { AppError, conflict } from '../../errors/app-error.js';
import { EnvironmentKind } from '../environment/environment.entity.js';

/** Milliseconds to connect, to be greeted, and of silence on the connection, before the attempt fails. */
export const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

/** The address of a From header (`Name <address>` or `address`). */
const addressOf = (from: string): string => /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from;

/** A message to one person, in plain text and optionally HTML. */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Why it is sent (`test`, `sign_in_code`, …): kept with a development outbox message. */
  purpose: string;
}

/** Where a message went. */
export type Delivery = { via: 'smtp'; messageId: string } | { via: 'outbox' };

export interface MailerSettings {
  /** `smtp://` or `smtps://` URL of the server to send through; undefined: none. */
  smtpUrl: string | undefined;
  /** The From header. */
  from: string;
}

/**
 * Sends mail for environments. With an SMTP server configured every environment sends through
 * it. Without one, a DEVELOPMENT environment's messages are not sent but kept in its outbox
 * (by `keep`, inside the caller's transaction) and logged, so a developer reads sign-in codes
 * there; a PRODUCTION environment refuses with `email.not_configured`.
 */
export class Mailer {
  private transporter: Transporter | undefined;

  constructor(
    private readonly settings: MailerSettings,
    private readonly logger: Logger,
  ) {}

  get configured(): boolean {
    return this.settings.smtpUrl !== undefined;
  }

  async send(
    environment: { id: string; kind: EnvironmentKind },
    mail: OutgoingMail,
    keep: (mail: OutgoingMail) => Promise<void>,
    /** Input path the errors name. */
    field?: string[],
  ): Promise<Delivery> {
    if (this.settings.smtpUrl) {
      // Bounded: a mail server that stalls must not hold a request (or, later, a sign-in page) for minutes.
      // STARTTLS is required on smtp:// (someone on the path could otherwise strip it and read the
      // password and every sign-in code); `?requireTLS=false` in the URL opts out for a local relay.
      this.transporter ??= nodemailer.createTransport({ url: this.settings.smtpUrl, requireTLS: true, ...SMTP_TIMEOUTS });
      try {
        // One recipient, exactly: the address is given as an address (never parsed as a list)
        // and the envelope names it alone.
        const info = await this.transporter.sendMail({
          from: this.settings.from,
          to: { name: '', address: mail.to },
          envelope: { from: addressOf(this.settings.from), to: [mail.to] },
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
        });
        return { via: 'smtp', messageId: String(info.messageId) };
      } catch (error) {
        // The server's answer may name the account; the URL (with its password) is never logged.
        this.logger.warn({ err: { message: (error as Error).message, code: (error as { code?: string }).code }, environmentId: environment.id }, 'SMTP delivery failed');
        throw new AppError('INTERNAL', 'email.delivery_failed', 'The mail server did not accept the message; try again later', { expose: true });
      }
    }
    if (environment.kind !== EnvironmentKind.DEVELOPMENT) {
      throw conflict('email.not_configured', 'A PRODUCTION environment cannot send email until the server has GATEHOUSE_SMTP_URL', field);
    }
    await keep(mail);
    this.logger.info({ environmentId: environment.id, to: mail.to, subject: mail.subject, purpose: mail.purpose, text: mail.text }, 'development outbox: message kept, not sent');
    return { via: 'outbox' };
  }

  close(): void {
    this.transporter?.close();
  }
}
