/**
 * `npm run audit:verify [-- --chain <environment id | wks:<workspace id>>]`: recomputes the
 * audit hash chains (all of them by default) and reports the first broken link of each.
 * Exits 1 when any chain is broken.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { listChains, verifyChain } from '../audit/chain.js';
import { openConfiguredDatabase } from './open-configured-database.js';
import { runCommand } from './run-command.js';
import { systemFork } from '../db/tenant-scope.js';

await runCommand(async () => {
  const { values } = parseArgs({ options: { chain: { type: 'string' } } });
  const db = await openConfiguredDatabase();
  try {
    const em = systemFork(db.orm, 'operator CLI: audit verification');
    const chains = values.chain ? [values.chain] : await listChains(em);
    let broken = 0;
    for (const chain of chains) {
      const result = await verifyChain(em, chain);
      if (result.firstBreak) {
        broken += 1;
        const { seq, id, reason } = result.firstBreak;
        console.log(`BROKEN  ${chain}: ${reason} at sequence ${seq} (${id}) after ${result.eventsChecked - 1} intact events`);
      } else {
        console.log(`ok      ${chain}: ${result.eventsChecked} events, head ${result.headHash ?? '-'} at sequence ${result.headSeq ?? '-'}`);
      }
    }
    console.log(broken ? `${broken} of ${chains.length} chains broken` : `${chains.length} chains intact`);
    return broken ? 1 : 0;
  } finally {
    await db.close();
  }
});
