import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ConfigurationError } from '@countersign/common';
import { calculateJwkThumbprint } from 'jose';

import {
  createSigningKey,
  publicJwkOf,
  pruneSigningKeys,
  readSigningKeys,
} from './key-directory.js';

describe('key directory', () => {
  let dir: string;

  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'cs-keys-')), 'keys');
  });

  afterEach(() => {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  });

  it('creates the directory and a private key file readable only by its owner', async () => {
    await createSigningKey(dir, 'ES256');
    const [file] = readdirSync(dir);
    expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('names each key by the RFC 7638 thumbprint of its public JWK', async () => {
    const key = await createSigningKey(dir, 'RS256');
    expect(key.kid).toBe(await calculateJwkThumbprint(publicJwkOf(key.privateJwk)));
    expect(key.privateJwk.kty).toBe('RSA');
  });

  it('reads keys back, oldest activation first', async () => {
    const older = await createSigningKey(dir, 'ES256', { now: new Date('2026-01-01T00:00:00Z') });
    const newer = await createSigningKey(dir, 'ES256', { now: new Date('2026-02-01T00:00:00Z') });
    expect((await readSigningKeys(dir)).map((key) => key.kid)).toEqual([older.kid, newer.kid]);
  });

  it('reads an absent directory as no keys', async () => {
    expect(await readSigningKeys(join(dir, 'missing'))).toEqual([]);
  });

  it('refuses a key file whose kid is not the thumbprint of its key', async () => {
    const key = await createSigningKey(dir, 'ES256');
    writeFileSync(join(dir, 'forged.json'), JSON.stringify({ ...key, kid: 'chosen-by-attacker' }));
    await expect(readSigningKeys(dir)).rejects.toThrow(/kid is not the thumbprint/);
  });

  it('refuses a key file that holds no private key', async () => {
    const key = await createSigningKey(dir, 'ES256');
    const publicOnly: Record<string, unknown> = { ...key.privateJwk };
    delete publicOnly.d;
    writeFileSync(join(dir, 'public.json'), JSON.stringify({ ...key, privateJwk: publicOnly }));
    await expect(readSigningKeys(dir)).rejects.toThrow(/not a signing key file/);
  });

  it('refuses a key file that is not JSON with a configuration error naming it, not quoting it', async () => {
    await createSigningKey(dir, 'ES256');
    const secretPart = 'cHJpdmF0ZS1rZXktbWF0ZXJpYWwtbm90LXRvLWxlYWs';
    writeFileSync(join(dir, 'half-written.json'), `{"privateJwk": {"d": "${secretPart}`);

    const failure = readSigningKeys(dir);
    await expect(failure).rejects.toBeInstanceOf(ConfigurationError);
    await expect(failure).rejects.toMatchObject({
      source: dir,
      problems: ['half-written.json: is not valid JSON (not a signing key file)'],
    });
    await expect(failure).rejects.not.toThrow(secretPart);
  });

  it('names every broken key file of the directory at once', async () => {
    await createSigningKey(dir, 'ES256');
    writeFileSync(join(dir, 'a.json'), 'null');
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ kid: 'x', alg: 'HS256' }));

    await expect(readSigningKeys(dir)).rejects.toMatchObject({
      problems: [
        expect.stringMatching(/^a\.json: not a signing key file/),
        expect.stringMatching(/^b\.json: not a signing key file/),
      ],
    });
  });

  it('publishes only public members', async () => {
    const key = await createSigningKey(dir, 'RS256');
    expect(Object.keys(publicJwkOf(key.privateJwk)).sort()).toEqual(['e', 'kty', 'n']);
  });

  it('prunes only retired keys whose tokens have all expired, never the active one', async () => {
    const day = (n: number) => new Date(Date.UTC(2026, 0, n));
    const oldest = await createSigningKey(dir, 'ES256', { now: day(1) });
    const middle = await createSigningKey(dir, 'ES256', { now: day(2) });
    const newest = await createSigningKey(dir, 'ES256', { now: day(10) });

    // one hour after `newest` activated, `middle` may still verify tokens; `oldest` cannot
    const removed = await pruneSigningKeys(dir, 300, new Date(day(10).getTime() + 60_000));
    expect(removed).toEqual([oldest.kid]);
    expect((await readSigningKeys(dir)).map((key) => key.kid)).toEqual([middle.kid, newest.kid]);

    const later = await pruneSigningKeys(dir, 300, day(11));
    expect(later).toEqual([middle.kid]);
    expect((await readSigningKeys(dir)).map((key) => key.kid)).toEqual([newest.kid]);
  });
});
