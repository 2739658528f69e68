import { resolveTxt } from 'node:dns/promises';

/** Looks up the TXT records of a name: one string per record (chunks joined). */
export type TxtResolver = (name: string) => Promise<string[]>;

/** Where an organization publishes its proof of owning `domain`. */
export const verificationRecordName = (domain: string) => `_gatehouse-verification.${domain}`;

const LOOKUP_TIMEOUT_MS = 5_000;

/** The system resolver, bounded in time; a missing name is no records, not an error. */
export const systemTxtResolver: TxtResolver = async (name) => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('DNS lookup timed out'), { code: 'ETIMEOUT' })), LOOKUP_TIMEOUT_MS);
  });
  try {
    const records = await Promise.race([resolveTxt(name), timeout]);
    return records.map((chunks) => chunks.join(''));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return [];
    throw error;
  } finally {
    clearTimeout(timer);
  }
};
