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
/** A well-formed hashSecret output (16-byte salt, 32-byte hash) of a secret nobody kept. */
const PASSWORD_HASH =
  'scrypt$32768$8$1$giWFoICTJkEgnpwTvEajvg$V-k4PiQWBRxJfu6sg8NMVWOtOgPnY9aHgsod5De4dXQ';
const PINS = ['A4DtL2JmUMhAsvJj5tKyn64SqzmuXbMrJa0n761y5v0'];

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
    const basic = { username: 'u', passwordHash: PASSWORD_HASH };
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

  it('compiles a basic profile with a well-formed password hash', async () => {
    const profiles = await compile({
      p: { checks: ['basic'], basic: { username: 'u', passwordHash: PASSWORD_HASH } },
    });
    expect(profiles.get('p')?.basic).toEqual({ username: 'u', passwordHash: PASSWORD_HASH });
  });

  it.each([
    ['empty members', 'scrypt$$$$$'],
    ['a salt shorter than 16 bytes', 'scrypt$32768$8$1$c2FsdA$aGFzaA'],
    ['a cost that is not a power of two', PASSWORD_HASH.replace('$32768$', '$30000$')],
    ['a cost over the bound', PASSWORD_HASH.replace('$32768$', '$2097152$')],
    ['a hash that is not base64url', PASSWORD_HASH.replace(/\$[^$]+$/, '$not*base64')],
    ['a missing member', PASSWORD_HASH.slice(0, PASSWORD_HASH.lastIndexOf('$'))],
  ])(
    'stops start-up for a basic password hash with %s, naming the profile and field',
    async (_label, passwordHash) => {
      const problems = await problemsOf({
        p: { checks: ['basic'], basic: { username: 'u', passwordHash } },
      });
      expect(problems).toMatch(/profile "p": basic\.passwordHash: must be a scrypt hash/);
      expect(problems).not.toContain(passwordHash);
    },
  );

  it.each([
    ['empty', ''],
    ['blank', '   '],
  ])('stops start-up for a subject DN that is %s', async (_label, subjectDn) => {
    const certificate = { pins: PINS, subjects: [{ subjectDn }] };
    expect(await problemsOf({ p: { checks: ['mtls'], certificate } })).toMatch(
      /profile "p": certificate\.subjects\.0\.subjectDn/,
    );
  });

  it.each([
    ['a missing `=`', 'CN'],
    ['an unknown attribute type', 'XYZ=a'],
    ['an empty value', 'CN='],
    ['a trailing separator', 'CN=a,'],
    ['an unescaped special character', 'CN=a<b'],
  ])('stops start-up for a subject DN with %s', async (_label, subjectDn) => {
    const certificate = { pins: PINS, subjects: [{ subjectDn }] };
    expect(await problemsOf({ p: { checks: ['mtls'], certificate } })).toContain(
      'profile "p": certificate.subjects.0.subjectDn is not an RFC 4514 name',
    );
  });

  it('compiles a subject DN written with spaces and in any case', async () => {
    const certificate = { pins: PINS, subjects: [{ subjectDn: ' cn = a , O=Org ' }] };
    const profiles = await compile({ p: { checks: ['mtls'], certificate } });
    expect(profiles.get('p')?.certificate?.policy.subjects).toEqual([
      { subjectDn: ' cn = a , O=Org ' },
    ]);
  });

  it.each([
    ['no keys', { keys: [] }],
    ['only a symmetric key', { keys: [{ kty: 'oct', k: 'c2VjcmV0LWtleS1ieXRlcw', alg: 'HS256' }] }],
    ['only an encryption key', { keys: [{ ...JWKS.keys[0], use: 'enc' }] }],
    ['only a key for another algorithm', { keys: [{ ...JWKS.keys[0], alg: 'ES384' }] }],
    ['only a key Node cannot import', { keys: [{ ...JWKS.keys[0], x: 'AAAA' }] }],
    ['only a key without a type', { keys: [{ x: JWKS.keys[0].x, y: JWKS.keys[0].y }] }],
  ])('stops start-up for a local JWKS file with %s', async (label, jwks) => {
    const file = `jwks-${label.replace(/\W+/g, '-')}.json`;
    await writeFile(join(dir, file), JSON.stringify(jwks));
    const problems = await problemsOf({
      p: { checks: ['oauth'], token: { ...TOKEN, jwksFile: file } },
    });
    expect(problems).toContain(
      `profile "p": token.jwksFile ${join(dir, file)} holds no public key`,
    );
  });

  it('compiles a local JWKS file with one usable key among unusable ones', async () => {
    const jwks = { keys: [{ kty: 'oct', k: 'c2VjcmV0LWtleS1ieXRlcw' }, ...JWKS.keys] };
    await writeFile(join(dir, 'jwks-mixed.json'), JSON.stringify(jwks));
    const profiles = await compile({
      p: { checks: ['oauth'], token: { ...TOKEN, jwksFile: 'jwks-mixed.json' } },
    });
    expect(profiles.get('p')?.token?.remoteJwks).toBe(false);
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
