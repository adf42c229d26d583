import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '@countersign/common';
import { compileProfiles, type ProfileCompilerContext } from './profile-compiler.js';

const JWKS = {
  keys: [
    {
      kty: 'EC',
      crv: 'P-256',
      x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
      y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
      kid: 'k1',
      alg: 'ES256',
    },
  ],
};
const TOKEN = {
  issuer: 'https://auth.test',
  audience: 'https://listener.test',
  requiredScope: 'connect:events',
  jwksFile: 'jwks.json',
};
const HMAC = { keys: [{ id: 'k1', secretEnv: 'CS_SPEC_HMAC' }] };

describe('compileProfiles', () => {
  let dir: string;
  const context: ProfileCompilerContext = { mode: 'proxy', env: { CS_SPEC_HMAC: 'a-key' } };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-profiles-'));
    await writeFile(join(dir, 'jwks.json'), JSON.stringify(JWKS));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function compile(profiles: unknown, ctx: ProfileCompilerContext = context) {
    const file = join(dir, `profiles-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, JSON.stringify({ profiles }));
    return compileProfiles(file, ctx);
  }

  async function problemsOf(profiles: unknown, ctx?: ProfileCompilerContext): Promise<string> {
    try {
      await compile(profiles, ctx);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      return (error as ConfigurationError).problems.join('\n');
    }
    throw new Error('expected the profiles to be refused');
  }

  it('compiles a profile with a token verifier and HMAC keys read from the environment', async () => {
    const profiles = await compile({
      docusign: { checks: ['oauth', 'hmac'], token: TOKEN, hmac: HMAC },
    });
    const profile = profiles.get('docusign');
    expect(profile?.checks).toEqual(['oauth', 'hmac']);
    expect(profile?.hmacKeys).toEqual([{ id: 'k1', secret: 'a-key' }]);
    expect(profile?.token?.remoteJwks).toBe(false);
  });

  it('stops start-up for a profile with no checks, naming the profile', async () => {
    expect(await problemsOf({ empty: { checks: [] } })).toMatch(
      /profile "empty".*at least one check/,
    );
  });

  it('stops start-up for a check without its settings', async () => {
    expect(await problemsOf({ p: { checks: ['hmac'] } })).toContain(
      'profile "p": the hmac check needs "hmac" settings',
    );
    expect(await problemsOf({ p: { checks: ['oauth'] } })).toContain('needs "token" settings');
    expect(await problemsOf({ p: { checks: ['basic'] } })).toContain('needs "basic" settings');
    expect(await problemsOf({ p: { checks: ['mtls'] } })).toContain('needs "certificate" settings');
  });

  it('stops start-up for oauth together with basic', async () => {
    const basic = { username: 'u', passwordHash: 'scrypt$32768$8$1$c2FsdA$aGFzaA' };
    expect(await problemsOf({ p: { checks: ['oauth', 'basic'], token: TOKEN, basic } })).toContain(
      'oauth and basic cannot be combined',
    );
  });

  it('stops start-up for bound-token without oauth', async () => {
    expect(await problemsOf({ p: { checks: ['bound-token'] } })).toContain(
      'the bound-token check needs the oauth check',
    );
  });

  it('stops start-up when an HMAC key environment variable is missing', async () => {
    const problems = await problemsOf(
      { p: { checks: ['hmac'], hmac: HMAC } },
      { mode: 'proxy', env: {} },
    );
    expect(problems).toContain('CS_SPEC_HMAC is not set');
    expect(problems).not.toContain('a-key');
  });

  it('refuses unknown settings and unknown checks', async () => {
    expect(await problemsOf({ p: { checks: ['hmac'], hmac: HMAC, hmacKey: 'x' } })).toContain(
      'hmacKey',
    );
    expect(await problemsOf({ p: { checks: ['magic'] } })).toContain('checks');
  });

  it('refuses settings for a check the profile does not list', async () => {
    expect(await problemsOf({ p: { checks: ['hmac'], hmac: HMAC, token: TOKEN } })).toContain(
      '"token" settings are given but the oauth check is not listed',
    );
  });

  it('refuses a token with both or neither JWKS sources', async () => {
    const both = { ...TOKEN, jwksUri: 'https://auth.test/jwks' };
    expect(await problemsOf({ p: { checks: ['oauth'], token: both } })).toContain(
      'exactly one of jwksUri and jwksFile',
    );
  });

  it('refuses an mtls profile in tls mode without the listener client CA', async () => {
    const profiles = {
      p: {
        checks: ['mtls'],
        certificate: { pins: ['A4DtL2JmUMhAsvJj5tKyn64SqzmuXbMrJa0n761y5v0'] },
      },
    };
    expect(await problemsOf(profiles, { mode: 'tls', env: {} })).toContain(
      'LISTENER_CLIENT_CA_FILE',
    );
  });

  it('refuses a subject rule that sets two members', async () => {
    const certificate = {
      pins: ['A4DtL2JmUMhAsvJj5tKyn64SqzmuXbMrJa0n761y5v0'],
      subjects: [{ sanDns: 'a.test', sanIp: '127.0.0.1' }],
    };
    expect(await problemsOf({ p: { checks: ['mtls'], certificate } })).toContain(
      'exactly one member',
    );
  });

  it('refuses a subject DN or SAN IP that can never match', async () => {
    const pins = ['A4DtL2JmUMhAsvJj5tKyn64SqzmuXbMrJa0n761y5v0'];
    const badDn = { pins, subjects: [{ subjectDn: 'CN=a,=b' }] };
    expect(await problemsOf({ p: { checks: ['mtls'], certificate: badDn } })).toContain(
      'subjectDn is not an RFC 4514 name',
    );
    const badIp = { pins, subjects: [{ sanIp: '10.0.0.300' }] };
    expect(await problemsOf({ p: { checks: ['mtls'], certificate: badIp } })).toContain(
      'sanIp is not an IP address',
    );
  });

  it('refuses a profile name that cannot be a URL segment', async () => {
    expect(await problemsOf({ 'Bad Name': { checks: ['hmac'], hmac: HMAC } })).toContain(
      'profile "Bad Name"',
    );
  });
});

describe('the example profiles file', () => {
  it('compiles as documented, with the dev PKI at .countersign/pki', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cs-profiles-example-'));
    try {
      const { generateDevPki } = await import('../../../../tools/pki/dev-pki.js');
      await generateDevPki({ outDir: join(root, '.countersign/pki') });
      const exampleDir = join(root, 'apps/listener');
      await mkdir(exampleDir, { recursive: true });
      await copyFile(
        join(process.cwd(), 'apps/listener/profiles.example.json'),
        join(exampleDir, 'profiles.example.json'),
      );

      const profiles = compileProfiles(join(exampleDir, 'profiles.example.json'), {
        mode: 'tls',
        clientCaPem: await readFile(join(root, '.countersign/pki/ca-bundle.pem'), 'utf8'),
        env: { CONNECT_HMAC_KEY_1: 'key-one', CONNECT_HMAC_KEY_2: 'key-two' },
      });
      expect([...profiles.keys()]).toEqual(['docusign', 'docusign-hmac-only']);
      expect(profiles.get('docusign')?.token?.remoteJwks).toBe(true);
      expect(profiles.get('docusign')?.certificate?.profileTrust).toBeDefined();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
