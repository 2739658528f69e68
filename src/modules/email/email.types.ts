import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { Connection } from '../../graphql/connection.js';
import { Node } from '../../graphql/node.js';
import { UserError } from '../../graphql/user-error.js';

export enum EmailTransport {
  SMTP = 'SMTP',
  OUTBOX = 'OUTBOX',
}
registerEnumType(EmailTransport, {
  name: 'EmailTransport',
  description: 'Where a message went.',
  valuesConfig: {
    SMTP: { description: 'Handed to the SMTP server of `GATEHOUSE_SMTP_URL`.' },
    OUTBOX: { description: 'Kept in the DEVELOPMENT environment\'s outbox (no SMTP server configured), and logged.' },
  },
});

@ObjectType('OutboxMessage', {
  implements: Node,
  simpleResolvers: true,
  description: 'A message a DEVELOPMENT environment would have mailed, kept because the server has no SMTP server. The newest 200 per environment are kept.',
})
export class OutboxMessageType extends Node {
  @Field(() => ID, { description: 'Environment that sent it.' })
  environmentId!: string;

  @Field({ description: 'Recipient address.' })
  recipient!: string;

  @Field({ description: 'Subject line.' })
  subject!: string;

  @Field({ description: 'Plain-text body.' })
  text!: string;

  @Field(() => String, { nullable: true, description: 'HTML body, when there is one.' })
  html!: string | null;

  @Field({ description: 'Why it was sent: `test`, and with sign-in `sign_in_code` or `magic_link`.' })
  purpose!: string;

  @Field({ description: 'When it was kept.' })
  createdAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of outbox messages.' })
export class OutboxMessageConnection extends Connection(OutboxMessageType, 'OutboxMessage') {}

@InputType({ description: 'A test message checking an environment\'s mail set-up.' })
export class SendTestEmailInput {
  @Field(() => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' })
  environmentId?: string;

  @Field({ description: 'Recipient address.' })
  to!: string;
}

@ObjectType({ simpleResolvers: true, description: 'Where a test message went.' })
export class EmailDeliveryType {
  @Field(() => EmailTransport, { description: 'SMTP, or the development outbox.' })
  via!: EmailTransport;

  @Field(() => String, { nullable: true, description: 'The Message-ID the SMTP server accepted, for SMTP.' })
  messageId!: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'Result of sendTestEmail.' })
export class SendTestEmailPayload {
  @Field(() => EmailDeliveryType, { nullable: true, description: 'Where it went, when it was sent.' })
  delivery?: EmailDeliveryType | null;

  @Field(() => [UserError], { description: 'Why it was refused, if it was.' })
  userErrors!: UserError[];
}
