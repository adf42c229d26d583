import { normaliseTimestamp, timeZoneOffsetMinutes } from './connect-timestamp.js';

describe('normaliseTimestamp', () => {
  it('keeps all seven fractional digits DocuSign sends', () => {
    expect(normaliseTimestamp('2026-11-20T16:22:42.0918334Z')).toBe('2026-11-20T16:22:42.0918334Z');
  });

  it('reads a local time at a negative offset (UTC-8) as eight hours later in UTC', () => {
    expect(normaliseTimestamp('2026-11-20T08:22:42.09', -8 * 60)).toBe('2026-11-20T16:22:42.09Z');
  });

  it('crosses midnight and month ends when the offset moves the date', () => {
    expect(normaliseTimestamp('2026-12-31T20:00:00', -5 * 60)).toBe('2027-01-01T01:00:00Z');
    expect(normaliseTimestamp('2026-03-01T03:00:00', 5 * 60 + 30)).toBe('2026-02-28T21:30:00Z');
  });

  it('prefers an offset written in the timestamp over the one given', () => {
    expect(normaliseTimestamp('2026-11-20T08:00:00+02:00', -8 * 60)).toBe('2026-11-20T06:00:00Z');
  });

  it('reads a timestamp without an offset as UTC when no offset is given', () => {
    expect(normaliseTimestamp('2026-11-20T08:00:00')).toBe('2026-11-20T08:00:00Z');
  });

  it.each([
    'yesterday',
    '2026-11-20',
    '2026-11-20 08:00:00',
    '2026-02-29T00:00:00Z',
    '2026-11-20T24:00:00Z',
    '2026-11-20T08:60:00Z',
    '2026-11-20T08:00:60Z',
    '2026-11-20T08:00:00+15:00',
    '2026-11-20T08:00:00.Z',
    ' 2026-11-20T08:00:00Z',
  ])('rejects %j', (value) => {
    expect(normaliseTimestamp(value)).toBeUndefined();
  });
});

describe('timeZoneOffsetMinutes', () => {
  it.each([
    ['-8', -480],
    ['-7', -420],
    ['0', 0],
    ['+5.5', 330],
    ['10', 600],
  ])('reads %s hours as %d minutes', (hours, minutes) => {
    expect(timeZoneOffsetMinutes(hours)).toBe(minutes);
  });

  it.each(['PST', '', '-15', '1e1', '--8'])('rejects %j', (value) => {
    expect(timeZoneOffsetMinutes(value)).toBeUndefined();
  });
});
