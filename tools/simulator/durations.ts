const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `500ms`, `1s`, `2m`, `1h`, `1d` (a bare number is milliseconds); undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) {
    return undefined;
  }
  return Math.round(Number(match[1]) * UNITS_MS[match[2] ?? 'ms']);
}

/** Parses a comma-separated retry schedule such as `1s,2s,4s`; undefined if any part is bad. */
export function parseSchedule(text: string): number[] | undefined {
  const parts = text.split(',').map(parseDuration);
  return parts.every((part) => part !== undefined) ? parts : undefined;
}
