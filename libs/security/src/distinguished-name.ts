import { accept, reject, type Verdict } from './verdict.js';

/** One attribute of a relative distinguished name; `type` is always a dotted OID. */
export interface RdnAttribute {
  readonly type: string;
  readonly value: string;
}

/** A relative distinguished name: one or more attributes joined by `+`. */
export type Rdn = readonly RdnAttribute[];

/** RFC 4514 §3 names, plus the ones common in certificates (case-insensitive lookup). */
const ATTRIBUTE_OIDS: Readonly<Record<string, string>> = {
  cn: '2.5.4.3',
  commonname: '2.5.4.3',
  sn: '2.5.4.4',
  surname: '2.5.4.4',
  serialnumber: '2.5.4.5',
  c: '2.5.4.6',
  l: '2.5.4.7',
  st: '2.5.4.8',
  street: '2.5.4.9',
  o: '2.5.4.10',
  ou: '2.5.4.11',
  t: '2.5.4.12',
  title: '2.5.4.12',
  g: '2.5.4.42',
  givenname: '2.5.4.42',
  i: '2.5.4.43',
  initials: '2.5.4.43',
  dc: '0.9.2342.19200300.100.1.25',
  uid: '0.9.2342.19200300.100.1.1',
  e: '1.2.840.113549.1.9.1',
  emailaddress: '1.2.840.113549.1.9.1',
};

/** Short names used when printing a DN, by OID. */
const OID_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'STREET',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.42': 'givenName',
  '2.5.4.43': 'initials',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

const DESCR = /^[A-Za-z][A-Za-z0-9-]*$/;
const NUMERIC_OID = /^(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))+$/;
const HEX_PAIR = /^[0-9A-Fa-f]{2}$/;
const HEX_STRING = /^#(?:[0-9A-Fa-f]{2})+$/;
const SPECIALS = '"+,;<>\\ #=';
const MAX_DN_LENGTH = 8192;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses an RFC 4514 distinguished name string into RDNs, in the order written. Spaces around
 * `,` `+` `=` are ignored; `#hex` values are kept as lowercase `#hex` (compared as written).
 */
export function parseDistinguishedName(dn: string): Verdict<Rdn[]> {
  if (typeof dn !== 'string' || dn.length > MAX_DN_LENGTH) {
    return reject('distinguished_name_malformed', 'not a string or too long');
  }
  if (dn.trim() === '') {
    return accept([]);
  }

  const rdns: Rdn[] = [];
  let current: RdnAttribute[] = [];
  let position = 0;
  while (position <= dn.length) {
    const attribute = readAttribute(dn, position);
    if (!attribute.ok) {
      return attribute;
    }
    current.push(attribute.evidence.attribute);
    position = attribute.evidence.next;

    const separator = dn[position];
    if (separator === '+') {
      position += 1;
      continue;
    }
    rdns.push(current);
    current = [];
    if (separator === undefined) {
      break;
    }
    position += 1;
  }
  return accept(rdns);
}

/** Prints RDNs (certificate order) as an RFC 4514 string: last RDN first, `, ` between RDNs. */
export function formatDistinguishedName(rdns: readonly Rdn[]): string {
  return [...rdns]
    .reverse()
    .map((rdn) =>
      rdn
        .map((attr) => `${OID_NAMES[attr.type] ?? attr.type}=${escapeValue(attr.value)}`)
        .join('+'),
    )
    .join(', ');
}

/**
 * Whether two DNs are equal as SETS of RDNs: attribute types by OID, values case-insensitively
 * after whitespace normalisation; the order of RDNs and of attributes inside an RDN is ignored.
 */
export function distinguishedNamesMatch(a: readonly Rdn[], b: readonly Rdn[]): boolean {
  if (a.length !== b.length) {
    return false;
  }
  const left = a.map(rdnKey).sort();
  const right = b.map(rdnKey).sort();
  return left.every((key, index) => key === right[index]);
}

function rdnKey(rdn: Rdn): string {
  return rdn
    .map((attr) => JSON.stringify([attr.type, normaliseValue(attr.value)]))
    .sort()
    .join('+');
}

function normaliseValue(value: string): string {
  return value.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}

/** RDNs from @peculiar/x509's JSON form of a name; throws on an attribute it cannot name. */
export function rdnsFromNameJson(json: readonly Record<string, string[]>[]): Rdn[] {
  return json.map((item) =>
    Object.entries(item).flatMap(([name, values]) => {
      const type = NUMERIC_OID.test(name) ? name : ATTRIBUTE_OIDS[name.toLowerCase()];
      if (type === undefined) {
        throw new Error(`unknown attribute name ${name}`);
      }
      return values.map((value) => ({
        type,
        value: HEX_STRING.test(value) ? value.toLowerCase() : value,
      }));
    }),
  );
}

function readAttribute(
  dn: string,
  start: number,
): Verdict<{ attribute: RdnAttribute; next: number }> {
  const equals = dn.indexOf('=', start);
  if (equals < 0) {
    return reject('distinguished_name_malformed', 'attribute without `=`');
  }
  const typeText = dn.slice(start, equals).trim();
  const type = attributeTypeOid(typeText);
  if (type === undefined) {
    return reject('distinguished_name_malformed', 'unknown or invalid attribute type');
  }

  const value = readValue(dn, equals + 1);
  if (!value.ok) {
    return value;
  }
  return accept({ attribute: { type, value: value.evidence.value }, next: value.evidence.next });
}

function attributeTypeOid(text: string): string | undefined {
  if (NUMERIC_OID.test(text)) {
    return text;
  }
  if (/^oid\./i.test(text) && NUMERIC_OID.test(text.slice(4))) {
    return text.slice(4);
  }
  if (!DESCR.test(text)) {
    return undefined;
  }
  return ATTRIBUTE_OIDS[text.toLowerCase()];
}

function readValue(dn: string, start: number): Verdict<{ value: string; next: number }> {
  let position = start;
  while (dn[position] === ' ') {
    position += 1;
  }

  if (dn[position] === '#') {
    let end = position;
    while (end < dn.length && dn[end] !== ',' && dn[end] !== '+') {
      end += 1;
    }
    const hex = dn.slice(position, end).trimEnd();
    if (!HEX_STRING.test(hex)) {
      return reject('distinguished_name_malformed', 'invalid #hex value');
    }
    return accept({ value: hex.toLowerCase(), next: end });
  }

  // text is collected as UTF-8 bytes so that `\XX` escapes can spell multi-byte characters
  const bytes: number[] = [];
  let trailingUnescapedSpaces = 0;
  while (position < dn.length) {
    const char = dn[position];
    if (char === ',' || char === '+') {
      break;
    }
    if (char === '\\') {
      const next = dn[position + 1];
      if (next === undefined) {
        return reject('distinguished_name_malformed', 'dangling escape');
      }
      const pair = dn.slice(position + 1, position + 3);
      if (HEX_PAIR.test(pair)) {
        bytes.push(Number.parseInt(pair, 16));
        position += 3;
      } else if (SPECIALS.includes(next)) {
        bytes.push(next.charCodeAt(0));
        position += 2;
      } else {
        return reject('distinguished_name_malformed', 'invalid escape');
      }
      trailingUnescapedSpaces = 0;
      continue;
    }
    if (char === '"' || char === ';' || char === '<' || char === '>' || char === '\u0000') {
      return reject('distinguished_name_malformed', 'unescaped special character');
    }
    const codePoint = dn.codePointAt(position) ?? 0;
    const encoded = Buffer.from(String.fromCodePoint(codePoint), 'utf8');
    bytes.push(...encoded);
    position += codePoint > 0xffff ? 2 : 1;
    trailingUnescapedSpaces = char === ' ' ? trailingUnescapedSpaces + 1 : 0;
  }

  let value: string;
  try {
    value = utf8.decode(Uint8Array.from(bytes.slice(0, bytes.length - trailingUnescapedSpaces)));
  } catch {
    return reject('distinguished_name_malformed', 'escapes are not valid UTF-8');
  }
  if (value.length === 0) {
    return reject('distinguished_name_malformed', 'empty attribute value');
  }
  return accept({ value, next: position });
}

function escapeValue(value: string): string {
  if (HEX_STRING.test(value)) {
    return value;
  }
  const escaped = value.replace(/[\\"+,;<>=]/g, (char) => `\\${char}`).replaceAll('\u0000', '\\00');
  // a leading space or `#` and a trailing space are escaped; a one-space value only once
  const lead = /^[ #]/.test(escaped) ? `\\${escaped[0]}` : (escaped[0] ?? '');
  const rest = escaped.slice(1);
  return rest.endsWith(' ') ? `${lead}${rest.slice(0, -1)}\\ ` : `${lead}${rest}`;
}
