import { Migration } from '@mikro-orm/migrations';
import { sqlFile } from './sql-file.js';

/**
 * Audit events join their chain at commit, not at insert. The chain trigger took the chain's
 * advisory lock when the event was inserted and held it until commit: everything the
 * transaction did after its audit insert (MikroORM inserts an event among the first rows of a
 * flush, and a sign-in writes eight more after it, each a round trip) ran with every other
 * writer of the environment queued behind it. Now, in a transaction of several statements, the
 * insert only names the chain; a deferred constraint trigger, `audit_event_seal()`, takes the
 * lock as the transaction commits, links the event to the chain's last one (seq, prev_hash,
 * hash) and writes that into the row: the lock is held for the seal and the commit only. An
 * INSERT that is its whole transaction (the group-commit writer's multi-row one) asks, by
 * `hash = 'link-at-insert'`, to be linked at insert as before: it costs no UPDATE and holds the
 * lock no longer. Both use
 * `audit_event_link()`, with the rules of
 * `audit_event_chain.3`: within a chain seq order is commit order, the default's seq stands
 * unless it would break that, the hash is over the same canonical content.
 */
export class Migration20261202071000_AuditSealAtCommit extends Migration {
  override async up(): Promise<void> {
    this.addSql(sqlFile('audit_event_link'));
    this.addSql(sqlFile('audit_event_chain.4'));
    this.addSql(sqlFile('audit_event_seal'));
    this.addSql(`create constraint trigger audit_event_seal after insert on audit_event deferrable initially deferred for each row execute function audit_event_seal();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists audit_event_seal on audit_event;`);
    this.addSql(`drop function if exists audit_event_seal();`);
    this.addSql(sqlFile('audit_event_chain.3'));
    this.addSql(`drop function if exists audit_event_link(audit_event);`);
  }
}
