import { createHmac } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashSecret } from '@countersign/security';
import { generateDeliveries } from '../../tools/simulator/deliveries.js';
import { createClientAgent } from '../../tools/simulator/https-client.js';
import { ATTACK_MODES, ConnectSimulator } from '../../tools/simulator/simulator.js';
import { TokenClient } from '../../tools/simulator/token-client.js';
import { send, type Answer } from './support/hardening-harness.js';
import { HardeningStack } from './support/hardening-stack.js';

const BASIC_PASSWORD = 'basic-password-Xq7-never-logged';
const WRONG_BASIC_PASSWORD = 'wrong-basic-password-Zt4-never-logged';
const WRONG_CLIENT_SECRET = 'wrong-client-secret-Pv9-never-logged';
const FORGED_TOKEN =
  'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJmb3JnZWQiOiJuZXZlci1sb2dnZWQifQ.Zm9yZ2VkLXNpZ25hdHVyZS1ieXRlcw';

/** Slices of a PEM key's base64 body: any one of them in a log line means key material leaked. */
function keyFragments(pem: string): string[] {
  const body = pem
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('-----'))
    .join('');
  const fragments: string[] = [];
  for (let at = 0; at + 24 <= body.length; at += 24) fragments.push(body.slice(at, at + 24));
  return fragments;
}

/** Private key material in a directory: PEM bodies and the private members of JWKs. */
async function privateKeyFragments(dir: string): Promise<string[]> {
  const fragments: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const text = await readFile(join(entry.parentPath, entry.name), 'utf8').catch(() => '');
    if (text.includes('PRIVATE KEY-----')) fragments.push(...keyFragments(text));
    for (const match of text.matchAll(/"(d|p|q|dp|dq|qi)"\s*:\s*"([A-Za-z0-9_-]{20,})"/g)) {
      fragments.push(match[2]);
    }
  }
  return fragments;
}

describe('secrets never reach a log line or an error body', () => {
  let dir: string;
  let stack: HardeningStack;
  const answers: Answer[] = [];
  const tokens: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-hardening-secrets-'));
    stack = await HardeningStack.start(dir);

    // the listener again, logging at debug, with a Basic profile next to the stack's profile
    const profilesFile = stack.stack.config.files.profiles;
    const profiles = JSON.parse(await readFile(profilesFile, 'utf8')) as {
      profiles: Record<string, unknown>;
    };
    profiles.profiles.basic = {
      checks: ['basic'],
      basic: { username: 'docusign', passwordHash: await hashSecret(BASIC_PASSWORD) },
    };
    const withBasic = join(profilesFile, '..', 'profiles-with-basic.json');
    await writeFile(withBasic, JSON.stringify(profiles));
    await stack.killListener();
    await stack.restartListener({ LISTENER_PROFILES_FILE: withBasic, LISTENER_LOG_LEVEL: 'debug' });

    const fixturesDir = join(process.cwd(), 'test/fixtures/connect');
    const deliveries = await generateDeliveries({ fixturesDir, count: 12, format: 'json' });
    const listenerPort = Number(new URL(stack.stack.config.urls.listener).port);
    const tls = { ca: stack.caPem };
    const connectTls = {
      ca: stack.caPem,
      client: {
        certPem: String(stack.simulator.tls.cert),
        keyPem: String(stack.simulator.tls.key),
        thumbprint: '',
      },
    };

    // genuine deliveries and every attack mode: tokens, the client secret and HMAC keys in play
    const connect = new ConnectSimulator({ ...stack.simulator, retryDelaysMs: [200] });
    const attacker = new ConnectSimulator({ ...stack.simulator, maxAttempts: 1 });
    try {
      for (const delivery of deliveries.slice(0, 6)) await connect.deliver(delivery);
      for (const [index, mode] of ATTACK_MODES.entries()) {
        await attacker.attack(mode, deliveries[6 + index]);
      }
    } finally {
      connect.close();
      attacker.close();
    }

    // tokens of our own, to look for later, and one replayed where it does not belong
    const agent = createClientAgent(stack.simulator.tls);
    const tokenClient = new TokenClient({
      tokenUrl: stack.simulator.tokenUrl,
      auth: stack.simulator.auth,
      agent,
      scope: stack.simulator.scope,
    });
    tokens.push(await tokenClient.accessToken());
    agent.destroy();
    const body = deliveries[10].body;
    const profilePath = `/connect/${stack.simulator.profile}`;
    answers.push(
      await send({
        port: listenerPort,
        path: profilePath,
        tls: connectTls,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[0]}` },
        body,
      }),
      await send({
        port: listenerPort,
        path: profilePath,
        tls: connectTls,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${FORGED_TOKEN}` },
        body,
      }),
    );

    // Basic: the right password, a wrong one, and one in a malformed header
    const basic = (password: string) =>
      `Basic ${Buffer.from(`docusign:${password}`).toString('base64')}`;
    for (const authorization of [
      basic(BASIC_PASSWORD),
      basic(WRONG_BASIC_PASSWORD),
      `Basic ${WRONG_BASIC_PASSWORD}`,
    ]) {
      answers.push(
        await send({
          port: listenerPort,
          path: '/connect/basic',
          tls,
          headers: { 'content-type': 'application/json', authorization },
          body: deliveries[11].body,
        }),
      );
    }

    // HMAC: a signature made with a key off by one character
    const [hmacKey] = stack.stack.material.hmacKeys;
    const offByOne = `${hmacKey.slice(0, -2)}A=`;
    answers.push(
      await send({
        port: listenerPort,
        path: profilePath,
        tls: connectTls,
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${tokens[0]}`,
          'x-docusign-signature-1': createHmac('sha256', offByOne).update(body).digest('base64'),
        },
        body,
      }),
    );

    // the token endpoint: a wrong client secret, and the right one with a bad request
    const tokenPort = Number(new URL(stack.simulator.tokenUrl).port);
    const tokenPath = new URL(stack.simulator.tokenUrl).pathname;
    const clientId =
      stack.simulator.auth.method === 'client_secret_basic'
        ? stack.simulator.auth.clientId
        : 'docusign-connect';
    for (const [secret, form] of [
      [WRONG_CLIENT_SECRET, 'grant_type=client_credentials'],
      [stack.stack.material.clientSecret, 'grant_type=password&username=x&password=y'],
      [stack.stack.material.clientSecret, `grant_type=client_credentials&scope=${'x'.repeat(50)}`],
    ]) {
      answers.push(
        await send({
          port: tokenPort,
          path: tokenPath,
          tls,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
          },
          body: form,
        }),
      );
    }
    // the secret in the form body (client_secret_post) where the client is registered for Basic
    answers.push(
      await send({
        port: tokenPort,
        path: tokenPath,
        tls,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=client_credentials&client_id=${clientId}&client_secret=${WRONG_CLIENT_SECRET}`,
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function haystack(): Promise<{ where: string; text: string }[]> {
    const lines = (await stack.logLines()).map((text, index) => ({ where: `log ${index}`, text }));
    const bodies = answers.map((answer, index) => ({
      where: `answer ${index} (${answer.status})`,
      text: `${JSON.stringify(answer.headers)} ${answer.text}`,
    }));
    return [...lines, ...bodies];
  }

  it('captured a real run: deliveries accepted and refused, logged, with error bodies', async () => {
    const lines = await stack.logLines();
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.some((line) => line.includes('delivery enqueued'))).toBe(true);
    expect(lines.some((line) => line.includes('delivery rejected'))).toBe(true);
    // the scan finds what is there: the client id is in the logs and is not a secret
    expect((await haystack()).some(({ text }) => text.includes('docusign-connect'))).toBe(true);
    expect(answers.map((answer) => `${answer.status} ${String(answer.json.error)}`)).toEqual([
      '401 hmac_signature_missing',
      '401 token_signature_invalid',
      '200 undefined',
      '401 basic_invalid_credentials',
      '401 basic_malformed',
      '401 hmac_mismatch',
      '401 invalid_client',
      '400 unsupported_grant_type',
      '400 invalid_scope',
      '400 invalid_client',
    ]);
  });

  it.each([
    ['the Connect client secret', () => [stack.stack.material.clientSecret]],
    ['a wrong client secret someone tried', () => [WRONG_CLIENT_SECRET]],
    ['the HMAC keys', () => [...stack.stack.material.hmacKeys]],
    ['the Basic password and a wrong one', () => [BASIC_PASSWORD, WRONG_BASIC_PASSWORD]],
    [
      'the access tokens (header.payload and signature)',
      () => tokens.flatMap((token) => [token, token.split('.')[2]]),
    ],
    ['a forged token', () => [FORGED_TOKEN]],
  ] as const)('never shows %s', async (_kind, secrets) => {
    const leaks = (await haystack())
      .filter(({ text }) => secrets().some((secret) => text.includes(secret)))
      .map(({ where }) => where);
    expect(secrets().length).toBeGreaterThan(0);
    expect(leaks).toEqual([]);
  });

  it('never shows private key material (TLS keys of the dev PKI, token signing keys)', async () => {
    const fragments = [
      ...(await privateKeyFragments(join(stack.stack.material.dir, 'pki'))),
      ...(await privateKeyFragments(stack.stack.material.authKeysDir)),
    ];
    expect(fragments.length).toBeGreaterThan(20);
    const leaks = (await haystack())
      .filter(({ text }) => fragments.some((fragment) => text.includes(fragment)))
      .map(({ where }) => where);
    expect(leaks).toEqual([]);
  });
});
