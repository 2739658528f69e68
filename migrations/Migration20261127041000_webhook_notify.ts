import { Migration } from '@mikro-orm/migrations';
import { sqlFile } from './sql-file.js';

/**
 * Wakes webhook delivery workers only when there is something to deliver: a NOTIFY on
 * `gatehouse_webhook` for each new delivery (the outbox trigger's and redeliveries alike;
 * PostgreSQL folds identical notices of one transaction into one). Workers used to wake on
 * every audit commit, which on the token endpoint meant a claim query per batch of issuances
 * for environments that have no webhook at all.
 */
export class Migration20261127041000_webhook_notify extends Migration {
  override async up(): Promise<void> {
    this.addSql(sqlFile('webhook_delivery_notify'));
    this.addSql(`create trigger webhook_delivery_notify after insert on webhook_delivery
  for each row execute function webhook_delivery_notify();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists webhook_delivery_notify on webhook_delivery;`);
    this.addSql(`drop function if exists webhook_delivery_notify();`);
  }
}
