// RFC 3339 §5.6 date-time. "T" and "Z" may be lower case (§5.6 NOTE). Seconds may be left
// out (ISO 8601's hh:mm), as the merchant API always accepted; a fraction has 1 to 9 digits.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

const daysIn = (year: number, month: number): number =>
  month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;

/**
 * Epoch milliseconds of an RFC 3339 date-time with its zone; `undefined` for anything else:
 * a date alone, a time without a zone, a day the month does not have (Date.parse reads
 * `2026-02-30` as 2 March), an hour of 24, or a leap second (`:60`, which epoch time
 * cannot hold).
 */
export function parseRfc3339(text: string): number | undefined {
  const m = DATE_TIME.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second, offsetHour, offsetMinute] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v))) as [number, number, number, number, number, number, number, number];
  // RFC 3339 §5.7: the ranges of each part.
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59 || offsetHour > 23 || offsetMinute > 59) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
