import { accept, reject, type Verdict } from './verdict.js';

/** One XFCC element: lowercase keys to their (unquoted, unescaped) values, in order. */
export type XfccElement = Map<string, string[]>;

const KEY = /^[A-Za-z][A-Za-z0-9_-]*$/;
const MAX_XFCC_LENGTH = 64 * 1024;

/**
 * Parses Envoy's `x-forwarded-client-cert`: elements split on `,` and pairs on `;`, both only
 * outside double quotes; values may be quoted with `\"` and `\\` escapes; keys case-insensitive.
 */
export function parseXfcc(header: string): Verdict<XfccElement[]> {
  if (header.length > MAX_XFCC_LENGTH) {
    return reject('forwarded_certificate_malformed', 'XFCC header too long');
  }

  const elements: XfccElement[] = [];
  let element: XfccElement = new Map();
  let position = 0;
  for (;;) {
    const equals = header.indexOf('=', position);
    if (equals < 0) {
      return reject('forwarded_certificate_malformed', 'XFCC pair without `=`');
    }
    const key = header.slice(position, equals).trim();
    if (!KEY.test(key)) {
      return reject('forwarded_certificate_malformed', 'XFCC key is not a token');
    }

    const value = readXfccValue(header, equals + 1);
    if (!value.ok) {
      return value;
    }
    const name = key.toLowerCase();
    element.set(name, [...(element.get(name) ?? []), value.evidence.value]);
    position = value.evidence.next;

    const separator = header[position];
    if (separator === undefined) {
      elements.push(element);
      return accept(elements);
    }
    if (separator === ',') {
      elements.push(element);
      element = new Map();
    }
    position += 1;
  }
}

function readXfccValue(header: string, start: number): Verdict<{ value: string; next: number }> {
  let position = start;
  while (header[position] === ' ') {
    position += 1;
  }

  if (header[position] !== '"') {
    let end = position;
    while (end < header.length && header[end] !== ';' && header[end] !== ',') {
      if (header[end] === '"' || header[end] === '\\') {
        return reject('forwarded_certificate_malformed', 'XFCC quote inside a bare value');
      }
      end += 1;
    }
    return accept({ value: header.slice(position, end).trim(), next: end });
  }

  let value = '';
  position += 1;
  for (;;) {
    const char = header[position];
    if (char === undefined) {
      return reject('forwarded_certificate_malformed', 'XFCC quoted value not closed');
    }
    if (char === '"') {
      position += 1;
      break;
    }
    if (char === '\\') {
      const escaped = header[position + 1];
      if (escaped === undefined) {
        return reject('forwarded_certificate_malformed', 'XFCC dangling escape');
      }
      value += escaped;
      position += 2;
      continue;
    }
    value += char;
    position += 1;
  }

  while (header[position] === ' ') {
    position += 1;
  }
  const after = header[position];
  if (after !== undefined && after !== ';' && after !== ',') {
    return reject('forwarded_certificate_malformed', 'XFCC text after a quoted value');
  }
  return accept({ value, next: position });
}
