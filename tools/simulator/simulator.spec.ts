import { createHmac, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';

import { parseConnectDelivery } from '@countersign/connect';

import {
  createTestCertificates,
  type TestCertificates,
} from '../../test/stack/support/test-certificates.js';
import {
  generateDeliveries,
  JSON_CONTENT_TYPE,
  loadFixtureDeliveries,
  XML_CONTENT_TYPE,
  type Delivery,
} from './deliveries.js';
import { EXIT_FAILED, EXIT_OK, EXIT_SETUP, runSimulatorCli } from './cli.js';
import { parseDuration, parseSchedule } from './durations.js';
import { createClientAgent } from './https-client.js';
import {
  ConnectSimulator,
  formatOutcome,
  signConnectBody,
  summarize,
  tamper,
  type SimulatorOptions,
} from './simulator.js';
import { formUrlEncode, TokenClient } from './token-client.js';

const FIXTURES = 'test/fixtures/connect';
const KEY_1 = 'dGVzdC1rZXktMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODk=';
const KEY_2 = 'c2Vjb25kLWtleS1hYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3g=';
const VECTOR_BODY =
  '{"event":"envelope-completed","data":{"envelopeId":"11111111-2222-3333-4444-555555555555"}}';

/** What the fake peer saw of one request. */
interface Seen {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly rawHeaders: string[];
  readonly body: Buffer;
  readonly peerThumbprint?: string;
  readonly continued: boolean;
}

/** A stand-in for the auth-server and the listener on one HTTPS port (port 0). */
class FakePeer {
  readonly seen: Seen[] = [];
  deliveryStatuses: number[] = [];
  /** The token endpoint's status: anything but 200 refuses with invalid_client. */
  tokenStatus = 200;
  expiresIn = 300;
  private tokens = 0;
  private server?: Server;

  constructor(private readonly certs: TestCertificates) {}

  async start(): Promise<string> {
    const server = createServer({
      key: this.certs.server.key,
      cert: this.certs.server.cert,
      ca: this.certs.ca,
      requestCert: true,
      rejectUnauthorized: false,
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) =>
      this.handle(req, res, false),
    );
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      res.writeContinue();
      this.handle(req, res, true);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    return `https://localhost:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  deliveries(): Seen[] {
    return this.seen.filter((seen) => seen.path.startsWith('/connect/'));
  }

  tokenRequests(): Seen[] {
    return this.seen.filter((seen) => seen.path === '/token');
  }

  private handle(req: IncomingMessage, res: ServerResponse, continued: boolean): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const peer = (req.socket as TLSSocket).getPeerX509Certificate();
      this.seen.push({
        path: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
        peerThumbprint: peer?.fingerprint256,
        continued,
      });
      res.setHeader('content-type', 'application/json');
      if (req.url === '/token' && this.tokenStatus !== 200) {
        res.statusCode = this.tokenStatus;
        res.end(JSON.stringify({ error: 'invalid_client' }));
        return;
      }
      if (req.url === '/token') {
        this.tokens += 1;
        res.end(
          JSON.stringify({
            access_token: `token-${this.tokens}`,
            token_type: 'Bearer',
            expires_in: this.expiresIn,
          }),
        );
        return;
      }
      const status = this.deliveryStatuses.shift() ?? 200;
      res.statusCode = status;
      res.end(
        JSON.stringify(
          status === 200
            ? { status: 'enqueued', deliveryId: `d-${this.seen.length}` }
            : { error: status === 401 ? 'hmac_mismatch' : 'queue_unavailable', message: 'no' },
        ),
      );
    });
  }
}

function thumbprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

describe('Connect simulator', () => {
  let certs: TestCertificates;
  let peer: FakePeer;
  let url: string;
  const simulators: ConnectSimulator[] = [];

  beforeAll(async () => {
    certs = await createTestCertificates();
  });

  beforeEach(async () => {
    peer = new FakePeer(certs);
    url = await peer.start();
  });

  afterEach(async () => {
    simulators.splice(0).forEach((simulator) => simulator.close());
    await peer.stop();
  });

  function simulator(overrides: Partial<SimulatorOptions> = {}): ConnectSimulator {
    const made = new ConnectSimulator({
      listenerUrl: url,
      profile: 'docusign',
      tokenUrl: `${url}/token`,
      auth: { method: 'client_secret_basic', clientId: 'connect', secret: 's3cret' },
      tls: { ...certs.client, ca: certs.ca },
      hmacKeys: [KEY_1, KEY_2],
      retryDelaysMs: [5, 5],
      attacker: certs.attacker,
      ...overrides,
    });
    simulators.push(made);
    return made;
  }

  const body = Buffer.from(VECTOR_BODY);
  const delivery: Delivery = { name: 'vector', body, contentType: JSON_CONTENT_TYPE };

  it('signs like Connect: base64 HMAC-SHA256 keyed with the key string, not its decoded bytes', () => {
    expect(signConnectBody(KEY_1, body)).toBe('pGpNN2L3OLxHDrVqV1X26W+CceNsJ9Xu8GFJAmEoG1c=');
    expect(signConnectBody(KEY_2, body)).toBe('CN6RdooJpY+TAwm61vuE2kjdq30xd51lQjlUDh5y5mc=');
    expect(signConnectBody(KEY_1, Buffer.concat([body, Buffer.from('\r\n')]))).toBe(
      'XaeNhTausF9opavLNHyTtXZuDNLR9rRiTJPJ64raAnM=',
    );
  });

  it('sends one X-DocuSign-Signature-N header per key, a bearer token and the content type', async () => {
    const outcome = await simulator().deliver(delivery);

    expect(outcome).toMatchObject({ ok: true, status: 200, answer: 'enqueued', attempts: 1 });
    const [seen] = peer.deliveries();
    expect(seen?.path).toBe('/connect/docusign');
    expect(seen?.body.equals(body)).toBe(true);
    expect(seen?.headers['x-docusign-signature-1']).toBe(
      'pGpNN2L3OLxHDrVqV1X26W+CceNsJ9Xu8GFJAmEoG1c=',
    );
    expect(seen?.headers['x-docusign-signature-2']).toBe(
      'CN6RdooJpY+TAwm61vuE2kjdq30xd51lQjlUDh5y5mc=',
    );
    expect(seen?.headers['x-authorization-digest']).toBe('HMACSHA256');
    expect(seen?.headers.authorization).toBe('Bearer token-1');
    expect(seen?.headers['content-type']).toBe('application/json');
  });

  it('presents the client certificate on the token request and on the delivery', async () => {
    await simulator().deliver(delivery);

    const client = thumbprintOf(certs.client.cert);
    expect(peer.tokenRequests()[0]?.peerThumbprint).toBe(client);
    expect(peer.deliveries()[0]?.peerThumbprint).toBe(client);
  });

  it('encodes client_secret_basic credentials with form encoding first (RFC 6749 Appendix B)', async () => {
    const secret = 'p%ss+w:rd é/=';
    await simulator({
      auth: { method: 'client_secret_basic', clientId: 'con:nect', secret },
    }).deliver(delivery);

    const header = peer.tokenRequests()[0]?.headers.authorization ?? '';
    const decoded = Buffer.from(header.replace(/^Basic /, ''), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const formDecode = (text: string) => decodeURIComponent(text.replace(/\+/g, ' '));
    expect(formDecode(decoded.slice(0, colon))).toBe('con:nect');
    expect(formDecode(decoded.slice(colon + 1))).toBe(secret);
    expect(decoded).not.toContain(secret);
    expect(peer.tokenRequests()[0]?.body.toString()).toBe('grant_type=client_credentials');
  });

  it('sends client_id in the form and no Authorization header for tls_client_auth', async () => {
    await simulator({ auth: { method: 'tls_client_auth', clientId: 'connect' } }).deliver(delivery);

    const [request] = peer.tokenRequests();
    expect(request?.headers.authorization).toBeUndefined();
    expect(new URLSearchParams(request?.body.toString()).get('client_id')).toBe('connect');
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('reuses one token for many deliveries', async () => {
    const sim = simulator();
    await sim.run([delivery, delivery, delivery]);

    expect(peer.tokenRequests()).toHaveLength(1);
    expect(sim.tokenRequests).toBe(1);
    expect(peer.deliveries().map((seen) => seen.headers.authorization)).toEqual([
      'Bearer token-1',
      'Bearer token-1',
      'Bearer token-1',
    ]);
  });

  it('asks for a new token shortly before expires_in runs out, not after', async () => {
    let now = 1_000_000;
    const agent = createClientAgent({ ...certs.client, ca: certs.ca });
    const tokens = new TokenClient({
      tokenUrl: `${url}/token`,
      auth: { method: 'tls_client_auth', clientId: 'connect' },
      agent,
      refreshMarginSeconds: 30,
      now: () => now,
    });
    try {
      expect(await tokens.accessToken()).toBe('token-1');
      now += 269_000;
      expect(await tokens.accessToken()).toBe('token-1');
      now += 2_000;
      expect(await tokens.accessToken()).toBe('token-2');
      expect(tokens.requestCount).toBe(2);
    } finally {
      agent.destroy();
    }
  });

  it('retries a non-2xx answer on the schedule until a 2xx and reports the attempts', async () => {
    peer.deliveryStatuses = [503, 500, 200];
    const outcome = await simulator({ retryDelaysMs: [5, 5] }).deliver(delivery);

    expect(outcome).toMatchObject({ ok: true, status: 200, attempts: 3 });
    expect(peer.deliveries()).toHaveLength(3);
  });

  it('fails a delivery that is still refused after the last attempt', async () => {
    peer.deliveryStatuses = [401, 401, 401, 401];
    const outcome = await simulator({ retryDelaysMs: [5], maxAttempts: 3 }).deliver(delivery);

    expect(outcome).toMatchObject({ ok: false, status: 401, answer: 'hmac_mismatch', attempts: 3 });
    expect(peer.deliveries()).toHaveLength(3);
    expect(summarize([outcome])).toMatchObject({ delivered: 0, failed: 1 });
  });

  it('fails a delivery when nobody answers, without throwing', async () => {
    await peer.stop();
    const outcome = await simulator({ retryDelaysMs: [5], maxAttempts: 2 }).deliver(delivery);

    expect(outcome.ok).toBe(false);
    expect(outcome.status).toBeUndefined();
    expect(outcome.error).toMatch(/ECONNREFUSED/);
  });

  it('sends a large body only after the listener answered 100 Continue', async () => {
    const large: Delivery = { ...delivery, body: Buffer.alloc(64 * 1024, 0x20) };
    await simulator({ expectContinueFromBytes: 16 * 1024 }).deliver(large);
    await simulator({ expectContinueFromBytes: 16 * 1024 }).deliver(delivery);

    const [big, small] = peer.deliveries();
    expect(big?.headers.expect).toBe('100-continue');
    expect(big?.continued).toBe(true);
    expect(big?.body.length).toBe(64 * 1024);
    expect(small?.headers.expect).toBeUndefined();
  });

  it('tampered-body sends a signature that no longer matches the bytes sent', async () => {
    const outcome = await simulator().attack('tampered-body', delivery);

    const [seen] = peer.deliveries();
    expect(seen?.body.equals(body)).toBe(false);
    expect(seen?.headers['x-docusign-signature-1']).toBe(signConnectBody(KEY_1, body));
    expect(seen?.headers['x-docusign-signature-1']).not.toBe(
      signConnectBody(KEY_1, seen?.body ?? Buffer.alloc(0)),
    );
    // the fake peer accepted it, so the attack was NOT stopped
    expect(outcome).toMatchObject({ kind: 'tampered-body', ok: false, status: 200 });
  });

  it('counts an attack as stopped only when the listener refused it', async () => {
    peer.deliveryStatuses = [401];
    const outcome = await simulator().attack('tampered-body', delivery);

    expect(outcome).toMatchObject({ ok: true, status: 401, answer: 'hmac_mismatch' });
    expect(summarize([outcome])).toMatchObject({ attacksRefused: 1, attacksAccepted: 0 });
  });

  describe('attack verdicts: only a 2xx from the listener is an accepted attack', () => {
    it('reports an attack answered 2xx as ACCEPTED', async () => {
      const outcome = await simulator().attack('no-signature', delivery);

      expect(outcome).toMatchObject({ verdict: 'accepted', ok: false, status: 200, attempts: 1 });
      expect(formatOutcome(outcome)).toMatch(/^ACCEPTED \(attack got through\)/);
      expect(summarize([outcome])).toMatchObject({ attacksAccepted: 1, attacksNotSent: 0 });
    });

    it('reports an attack without the attacker certificate it needs as a setup error', async () => {
      const outcome = await simulator({ attacker: undefined }).attack(
        'wrong-certificate',
        delivery,
      );

      expect(outcome).toMatchObject({
        verdict: 'setup_error',
        ok: false,
        attempts: 0,
        error: 'this attack needs an attacker certificate and key',
      });
      expect(outcome.status).toBeUndefined();
      expect(peer.deliveries()).toEqual([]);
      expect(formatOutcome(outcome)).toMatch(/^SETUP ERROR \(attack not sent\)/);
      expect(formatOutcome(outcome)).not.toContain('ACCEPTED');
      expect(summarize([outcome])).toMatchObject({
        attacksRefused: 0,
        attacksAccepted: 0,
        attacksNotSent: 1,
      });
    });

    it('reports an attack whose token request was refused as a setup error', async () => {
      peer.tokenStatus = 401;
      for (const mode of ['tampered-body', 'token-bound-to-other-certificate'] as const) {
        const outcome = await simulator().attack(mode, delivery);
        expect(outcome).toMatchObject({ verdict: 'setup_error', ok: false, attempts: 0 });
        expect(outcome.error).toMatch(/token endpoint answered 401 invalid_client/);
      }
      expect(peer.deliveries()).toEqual([]);
    });

    it('reports an attack on a listener nobody answers as a setup error', async () => {
      const gone = new FakePeer(certs);
      const goneUrl = await gone.start();
      await gone.stop();
      const outcome = await simulator({ listenerUrl: goneUrl }).attack('no-signature', delivery);

      expect(outcome).toMatchObject({ verdict: 'setup_error', ok: false, attempts: 0 });
      expect(outcome.error).toMatch(/ECONNREFUSED/);
      expect(peer.tokenRequests()).toHaveLength(1);
    });

    it('reports an attack whose token endpoint nobody answers as a setup error', async () => {
      await peer.stop();
      const outcome = await simulator().attack('tampered-body', delivery);

      expect(outcome).toMatchObject({ verdict: 'setup_error', ok: false, attempts: 0 });
      expect(outcome.error).toMatch(/ECONNREFUSED/);
    });

    it.each([404, 405, 413, 415, 429])(
      'gives an attack answered %i no verdict: it says nothing about the checks',
      async (status) => {
        peer.deliveryStatuses = [status];
        const outcome = await simulator().attack('tampered-body', delivery);

        expect(outcome).toMatchObject({ verdict: 'no_verdict', ok: false, status });
      },
    );

    it.each([401, 403])('counts an attack answered %i as refused', async (status) => {
      peer.deliveryStatuses = [status];
      const outcome = await simulator().attack('tampered-body', delivery);

      expect(outcome).toMatchObject({ verdict: 'refused', ok: true, status });
    });

    it('reports an attack answered 5xx as having no verdict, not as accepted', async () => {
      peer.deliveryStatuses = [503];
      const outcome = await simulator().attack('tampered-body', delivery);

      expect(outcome).toMatchObject({ verdict: 'no_verdict', ok: false, status: 503 });
      expect(formatOutcome(outcome)).toMatch(/^NO VERDICT/);
      expect(summarize([outcome])).toMatchObject({ attacksAccepted: 0, attacksWithoutVerdict: 1 });
    });
  });

  describe('the CLI', () => {
    let dir: string;
    let out: string[];
    let err: string[];

    const settingsFile = (overrides: Record<string, unknown> = {}) => {
      const file = (name: string, content: string) => {
        writeFileSync(join(dir, name), content);
        return name;
      };
      const path = join(dir, 'simulator.json');
      writeFileSync(
        path,
        JSON.stringify({
          listenerUrl: url,
          profile: 'docusign',
          tokenUrl: `${url}/token`,
          clientId: 'connect',
          authMethod: 'client_secret_basic',
          clientSecretFile: file('secret', 's3cret\n'),
          certFile: file('client.pem', certs.client.cert),
          keyFile: file('client.key', certs.client.key),
          caFile: file('ca.pem', certs.ca),
          hmacKeyFiles: [file('hmac-1', KEY_1)],
          ...overrides,
        }),
      );
      return path;
    };
    const cli = (args: string[]) =>
      runSimulatorCli(['node', 'simulate', '--settings', settingsFile(), ...args], {
        out: (line) => out.push(line),
        err: (line) => err.push(line),
        env: {},
      });

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'cs-simulate-'));
      out = [];
      err = [];
    });

    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('prints simulate: with the path and exits 2 when --fixtures is missing', async () => {
      const missing = join(dir, 'no-such-fixtures');
      expect(await cli(['--fixtures', missing])).toBe(EXIT_SETUP);
      expect(err).toEqual([`simulate: --fixtures ${missing}: cannot read ${missing} (ENOENT)`]);
      expect(peer.seen).toEqual([]);
    });

    it('prints simulate: with the template path and exits 2 when --count finds no template', async () => {
      expect(await cli(['--fixtures', dir, '--count', '1'])).toBe(EXIT_SETUP);
      expect(err).toEqual([
        `simulate: --fixtures ${dir}: cannot read ${join(dir, 'envelope-sent.json')} (ENOENT)`,
      ]);
    });

    it('exits 2, never reporting ACCEPTED, when the attack needs an attacker certificate it lacks', async () => {
      expect(await cli(['--count', '2', '--attack', 'wrong-certificate'])).toBe(EXIT_SETUP);
      expect(out.filter((line) => line.includes('ACCEPTED'))).toEqual([]);
      expect(out.filter((line) => line.startsWith('SETUP ERROR (attack not sent)'))).toHaveLength(
        2,
      );
      expect(out.at(-1)).toBe(
        '2 attack deliveries (wrong-certificate): 0 refused, 0 not refused (0 accepted), ' +
          '2 not sent (setup error)',
      );
      expect(err).toEqual([
        'simulate: 2 attack(s) could not be sent: this attack needs an attacker certificate and key',
      ]);
      expect(peer.deliveries()).toEqual([]);
    });

    it('exits 2 when the token endpoint refuses the attack its token', async () => {
      peer.tokenStatus = 400;
      expect(await cli(['--count', '1', '--attack', 'tampered-body'])).toBe(EXIT_SETUP);
      expect(out.some((line) => line.includes('ACCEPTED'))).toBe(false);
      expect(err[0]).toMatch(
        /^simulate: 1 attack\(s\) could not be sent: token endpoint answered 400/,
      );
    });

    it('exits 1 and reports ACCEPTED when the listener answers an attack 2xx', async () => {
      expect(await cli(['--count', '1', '--attack', 'tampered-body'])).toBe(EXIT_FAILED);
      expect(out[0]).toMatch(/^ACCEPTED \(attack got through\) +HTTP 200/);
      expect(out.at(-1)).toBe(
        '1 attack deliveries (tampered-body): 0 refused, 1 not refused (1 accepted), ' +
          '0 not sent (setup error)',
      );
    });

    it('exits 0 when the listener refused every attack', async () => {
      peer.deliveryStatuses = [401, 401];
      expect(await cli(['--count', '2', '--attack', 'tampered-body'])).toBe(EXIT_OK);
      expect(out.at(-1)).toMatch(/2 attack deliveries \(tampered-body\): 2 refused, 0 not refused/);
      expect(err).toEqual([]);
    });

    it('exits 2 on an option it does not know, like other usage errors', async () => {
      expect(await cli(['--no-such-option'])).toBe(EXIT_SETUP);
      expect(err.join('\n')).toMatch(/unknown option '--no-such-option'/);
    });
  });

  it('no-signature sends the delivery without any signature header', async () => {
    await simulator().attack('no-signature', delivery);

    const [seen] = peer.deliveries();
    expect(seen?.rawHeaders.filter((name) => /^x-docusign-signature/i.test(name))).toEqual([]);
    expect(seen?.headers.authorization).toBe('Bearer token-1');
  });

  it("wrong-certificate replays Connect's token over a connection with another certificate", async () => {
    await simulator().attack('wrong-certificate', delivery);

    expect(peer.tokenRequests()[0]?.peerThumbprint).toBe(thumbprintOf(certs.client.cert));
    expect(peer.deliveries()[0]?.peerThumbprint).toBe(thumbprintOf(certs.attacker.cert));
  });

  it('token-bound-to-other-certificate gets its token over another certificate', async () => {
    await simulator().attack('token-bound-to-other-certificate', delivery);

    expect(peer.tokenRequests()[0]?.peerThumbprint).toBe(thumbprintOf(certs.attacker.cert));
    expect(peer.deliveries()[0]?.peerThumbprint).toBe(thumbprintOf(certs.client.cert));
  });

  it('tamper changes the bytes and keeps the length', () => {
    const tampered = tamper(body);
    expect(tampered.equals(body)).toBe(false);
    expect(tampered.length).toBe(body.length);
  });
});

describe('deliveries', () => {
  it('loads every fixture with the content type Connect sends for its format', async () => {
    const deliveries = await loadFixtureDeliveries(FIXTURES);

    expect(deliveries).toHaveLength(12);
    expect(deliveries.find((d) => d.name === 'envelope-sent.xml')?.contentType).toBe(
      XML_CONTENT_TYPE,
    );
    expect(deliveries.find((d) => d.name === 'envelope-sent.json')?.contentType).toBe(
      JSON_CONTENT_TYPE,
    );
  });

  it.each(['json', 'xml'] as const)(
    'generates distinct %s events that parse as Connect deliveries',
    async (format) => {
      const deliveries = await generateDeliveries({ fixturesDir: FIXTURES, count: 3, format });

      const envelopes = deliveries.map((delivery) => {
        const parsed = parseConnectDelivery(delivery.body, delivery.contentType);
        if (!parsed.ok) {
          throw new Error(`${delivery.name}: ${parsed.reason} ${parsed.detail}`);
        }
        expect(parsed.event.event).toBe('envelope-sent');
        return parsed.event.envelopeId;
      });
      expect(new Set(envelopes).size).toBe(3);
    },
  );
});

describe('durations', () => {
  it('reads retry schedules with units and refuses malformed ones', () => {
    expect(parseSchedule('500ms,1s,2m,1h,1d')).toEqual([500, 1000, 120_000, 3_600_000, 86_400_000]);
    expect(parseSchedule('1s,,2s')).toBeUndefined();
    expect(parseDuration('1w')).toBeUndefined();
    expect(formUrlEncode('a b+c')).toBe('a+b%2Bc');
  });
});

describe('hmac helper', () => {
  it('matches node:crypto directly', () => {
    const payload = Buffer.from('<x/>');
    expect(signConnectBody('k=', payload)).toBe(
      createHmac('sha256', 'k=').update(payload).digest('base64'),
    );
  });
});
