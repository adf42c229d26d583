const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?$/;

const MINUTE_MS = 60_000;

/**
 * Normalises a Connect timestamp to ISO 8601 UTC (`...Z`), keeping every fractional digit sent
 * (DocuSign sends up to seven). A timestamp with its own offset uses it; one without is read as
 * local time at `offsetMinutes` east of UTC (legacy XML's `TimeZoneOffset`, in minutes), or as
 * UTC when no offset is known. Returns `undefined` for anything that is not a real instant.
 */
export function normaliseTimestamp(value: string, offsetMinutes = 0): string | undefined {
  const match = TIMESTAMP.exec(value);
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second, fraction = '', zone] = match;

  const fields = [year, month, day, hour, minute, second].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const [y, mo, d, h, mi, s] = fields;
  const local = Date.UTC(y, mo - 1, d, h, mi, s);
  const roundTrip = new Date(local);
  if (
    roundTrip.getUTCFullYear() !== y ||
    roundTrip.getUTCMonth() !== mo - 1 ||
    roundTrip.getUTCDate() !== d ||
    h > 23 ||
    mi > 59 ||
    s > 59
  ) {
    return undefined;
  }

  const offset = zone === undefined ? offsetMinutes : zoneOffsetMinutes(zone);
  if (offset === undefined) return undefined;
  const utc = new Date(local - offset * MINUTE_MS).toISOString();
  if (!/^\d{4}-/.test(utc)) return undefined;
  return `${utc.slice(0, 19)}${fraction}Z`;
}

/** Reads legacy XML's `TimeZoneOffset` (hours east of UTC, e.g. `-8`) as minutes. */
export function timeZoneOffsetMinutes(value: string): number | undefined {
  if (!/^[+-]?\d{1,2}(\.\d{1,2})?$/.test(value.trim())) return undefined;
  const hours = Number(value);
  if (Math.abs(hours) > 14) return undefined;
  return Math.round(hours * 60);
}

function zoneOffsetMinutes(zone: string): number | undefined {
  if (zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const hours = Number(zone.slice(1, 3));
  const minutes = Number(zone.slice(4, 6));
  if (hours > 14 || minutes > 59) return undefined;
  return sign * (hours * 60 + minutes);
}
