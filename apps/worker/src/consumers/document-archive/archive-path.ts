import { join, resolve, sep } from 'node:path';

const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** 255-byte file name limit minus `<documentId up to 64>-` and `.pdf`. */
const MAX_NAME_BYTES = 180;

/** The longest prefix of `value` (whole code points) whose UTF-8 encoding fits in `maxBytes`. */
function truncateUtf8(value: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of value) {
    bytes += Buffer.byteLength(char, 'utf8');
    if (bytes > maxBytes) break;
    end += char.length;
  }
  return value.slice(0, end);
}

/** A document name reduced to letters, digits, space, `.`, `_` and `-`: no separator, no `..`. */
export function sanitizeDocumentName(name: string): string {
  const cleaned = name
    .normalize('NFC')
    .replace(/\.pdf$/i, '')
    .replace(/[^\p{L}\p{N} ._-]+/gu, '_')
    .replace(/\.{2,}/g, '_')
    .replace(/^[\s._-]+|[\s._]+$/g, '');
  return truncateUtf8(cleaned, MAX_NAME_BYTES).replace(/[\s._]+$/, '') || 'document';
}

/**
 * Where one document of one envelope is archived: `<dir>/<envelopeId>/<documentId>-<name>.pdf`.
 * Returns undefined when the ids are not plain ids, so nothing is ever written outside `dir`.
 */
export function archivePath(
  dir: string,
  envelopeId: string,
  documentId: string,
  name: string,
): string | undefined {
  if (!SAFE_ID.test(envelopeId) || !SAFE_ID.test(documentId)) return undefined;
  const root = resolve(dir);
  const file = resolve(join(root, envelopeId, `${documentId}-${sanitizeDocumentName(name)}.pdf`));
  return file.startsWith(root + sep) ? file : undefined;
}
