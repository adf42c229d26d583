import { join } from 'node:path';
import { archivePath, sanitizeDocumentName } from './archive-path.js';

describe('archivePath', () => {
  const dir = '/srv/archive';
  const envelope = 'f3a9c2d1-7b4e-4c8a-a1d6-5e2f8b0c9d37';

  it('names the file <envelopeId>/<documentId>-<name>.pdf', () => {
    expect(archivePath(dir, envelope, '1', 'Master Services Agreement.pdf')).toBe(
      join(dir, envelope, '1-Master Services Agreement.pdf'),
    );
  });

  it('keeps a document name from climbing out of the archive', () => {
    for (const name of ['../../etc/passwd', '..\\..\\boot.ini', '/etc/shadow', '....//x']) {
      const file = archivePath(dir, envelope, '1', name)!;
      expect(file.startsWith(join(dir, envelope) + '/')).toBe(true);
      expect(file.slice(join(dir, envelope).length + 1)).not.toMatch(/[/\\]|\.\./);
    }
  });

  it('refuses envelope and document ids that are not plain ids', () => {
    expect(archivePath(dir, '../other', '1', 'a')).toBeUndefined();
    expect(archivePath(dir, envelope, '1/../../x', 'a')).toBeUndefined();
    expect(archivePath(dir, '', '1', 'a')).toBeUndefined();
  });

  it.each([
    ['CJK', '合'.repeat(100)],
    ['accented Latin', 'ü'.repeat(200)],
    ['emoji', '📄'.repeat(100)],
  ])(
    'keeps a long %s name within the 255-byte file name limit, whole characters only',
    (_, name) => {
      const path = archivePath('/archive', 'e1', 'd'.repeat(64), `${name}.pdf`)!;
      const file = path.slice(path.lastIndexOf('/') + 1);
      expect(Buffer.byteLength(file, 'utf8')).toBeLessThanOrEqual(255);
      expect(file).toMatch(/\.pdf$/);
      expect(file).not.toContain('\uFFFD');
      expect(Buffer.from(file, 'utf8').toString('utf8')).toBe(file);
    },
  );

  it('gives a nameless or all-dots document a usable name', () => {
    expect(sanitizeDocumentName('')).toBe('document');
    expect(sanitizeDocumentName('...')).toBe('document');
    expect(sanitizeDocumentName('Résumé (final).PDF')).toBe('Résumé _final');
  });
});
