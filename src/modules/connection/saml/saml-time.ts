// xs:dateTime as IdPs send it: ADFS writes 7 fractional digits, others 0 or 3. SAML requires
// UTC, so a value without a zone designator is read as UTC rather than as local time.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?$/;

/** Milliseconds since the epoch, or null when the value is not a valid xs:dateTime. */
export function parseSamlInstant(value: string): number | null {
  const match = DATE_TIME.exec(value.trim());
  if (!match) return null;
  const [, y, mo, d, h, mi, s, fraction = '', zone = 'Z'] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  // Precision finer than a millisecond is truncated, as SAML core §1.3.3 allows.
  const millis = Number(fraction.padEnd(3, '0').slice(0, 3));
  const local = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC rolls 31 February over into March: refuse instead.
  if (new Date(local).getUTCDate() !== day) return null;
  if (zone === 'Z') return local;
  const sign = zone.startsWith('-') ? -1 : 1;
  const offsetMinutes = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6));
  if (offsetMinutes > 14 * 60) return null;
  return local - sign * offsetMinutes * 60_000;
}
