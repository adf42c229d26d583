import { verifyBasicCredentials } from './basic-credentials.js';
import { hashSecret } from './secret-hash.js';

describe('Basic credential verification', () => {
  let expected: { username: string; passwordHash: string };

  beforeAll(async () => {
    expected = { username: 'docusign-connect', passwordHash: await hashSecret('p@ss:word') };
  });

  it('accepts the configured user with the right password', async () => {
    await expect(
      verifyBasicCredentials({ username: 'docusign-connect', password: 'p@ss:word' }, expected),
    ).resolves.toEqual({ ok: true, evidence: { username: 'docusign-connect' } });
  });

  it('rejects the right password for another user', async () => {
    await expect(
      verifyBasicCredentials({ username: 'docusign-connectx', password: 'p@ss:word' }, expected),
    ).resolves.toMatchObject({ ok: false, reason: 'basic_invalid_credentials' });
  });

  it('rejects a user name that differs only in case', async () => {
    await expect(
      verifyBasicCredentials({ username: 'DocuSign-Connect', password: 'p@ss:word' }, expected),
    ).resolves.toMatchObject({ reason: 'basic_invalid_credentials' });
  });

  it('rejects the right user with a wrong password', async () => {
    await expect(
      verifyBasicCredentials({ username: 'docusign-connect', password: 'p@ss:wor' }, expected),
    ).resolves.toMatchObject({ reason: 'basic_invalid_credentials' });
  });

  it('rejects everything when the stored hash is malformed', async () => {
    await expect(
      verifyBasicCredentials(
        { username: 'docusign-connect', password: 'p@ss:word' },
        { username: 'docusign-connect', passwordHash: 'p@ss:word' },
      ),
    ).resolves.toMatchObject({ reason: 'basic_invalid_credentials' });
  });
});
