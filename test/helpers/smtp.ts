import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** A real SMTP server that keeps what it receives, parsed. */
export async function smtpPeer(options: { reject?: boolean } = {}) {
  const received: ParsedMail[] = [];
  const envelopes: string[][] = [];
  const waiters: (() => void)[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      callback(options.reject ? Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }) : undefined);
    },
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (mail) => {
          received.push(mail);
          envelopes.push(session.envelope.rcptTo.map((rcpt) => rcpt.address));
          waiters.splice(0).forEach((wake) => wake());
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    /** This peer offers no STARTTLS, so the URL opts out of requiring it, as a local relay's would. */
    url: `smtp://127.0.0.1:${port}?requireTLS=false`,
    received,
    envelopes,
    /** Resolves once `count` messages have arrived. */
    until: (count: number) => new Promise<void>((resolve) => (received.length >= count ? resolve() : waiters.push(() => received.length >= count && resolve()))),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type SmtpPeer = Awaited<ReturnType<typeof smtpPeer>>;
