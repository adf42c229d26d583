import { createHmac } from 'node:crypto';
import type { Agent } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Delivery } from './deliveries.js';
import { createClientAgent, sendHttps, type ClientTlsIdentity } from './https-client.js';
import { TokenClient, type TokenEndpointAuth } from './token-client.js';

/** What an attacker tries; the attack succeeds only when the listener refuses the delivery. */
export const ATTACK_MODES = [
  'tampered-body',
  'wrong-certificate',
  'token-bound-to-other-certificate',
  'no-signature',
] as const;
export type AttackMode = (typeof ATTACK_MODES)[number];

/**
 * How an attack ended. `refused`: the listener answered 401/403 or its TLS stack ended the handshake.
 * `accepted`: the listener answered 2xx, the only proof that an attack got through.
 * `no_verdict`: the listener answered something else (3xx, 5xx) or not in time.
 * `setup_error`: the attack never reached the listener (no attacker certificate, token refused,
 * nobody listening, a server certificate the simulator does not trust).
 */
export type AttackVerdict = 'refused' | 'accepted' | 'no_verdict' | 'setup_error';

export interface SimulatorOptions {
  /** The listener's base URL, e.g. `https://localhost:9443`. */
  readonly listenerUrl: string;
  readonly profile: string;
  readonly tokenUrl: string;
  readonly auth: TokenEndpointAuth;
  readonly scope?: string;
  /** Connect's client certificate and key, and the CA bundle that signed the servers. */
  readonly tls: ClientTlsIdentity & {
    readonly cert: string | Buffer;
    readonly key: string | Buffer;
  };
  /** HMAC keys exactly as issued (one `X-DocuSign-Signature-N` header each); may be empty. */
  readonly hmacKeys: readonly string[];
  /** Waits between attempts; attempts = `maxAttempts` (default: one more than the waits). */
  readonly retryDelaysMs?: readonly number[];
  readonly maxAttempts?: number;
  /** Bodies at least this large are sent with `Expect: 100-continue` (default 16 KiB). */
  readonly expectContinueFromBytes?: number;
  readonly timeoutMs?: number;
  /** Another certificate and key, trusted by the dev CA but not registered for this profile. */
  readonly attacker?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  readonly onOutcome?: (outcome: DeliveryOutcome) => void;
}

/** What happened to one delivery (genuine or attack) after its last attempt. */
export interface DeliveryOutcome {
  readonly name: string;
  readonly kind: 'genuine' | AttackMode;
  /** The listener's final HTTP status; absent when no HTTP answer came. */
  readonly status?: number;
  /** `enqueued` / `duplicate` on success, the listener's reason code on refusal. */
  readonly answer?: string;
  readonly deliveryId?: string;
  /** Transport or token failure when no HTTP answer came. */
  readonly error?: string;
  /** Requests sent to the listener (0 when an attack could not be set up). */
  readonly attempts: number;
  /** Genuine: a 2xx answer. Attack: the listener refused it. */
  readonly ok: boolean;
  /** Attacks only: what the listener made of it, or that it was never sent. */
  readonly verdict?: AttackVerdict;
}

/** What one attack sends, once its token and connection are ready. */
interface AttackRequest {
  readonly agent: Agent;
  readonly body: Buffer;
  readonly headers: Record<string, string>;
}

const DEFAULT_RETRY_DELAYS_MS = [1000, 2000, 4000];

/** Behaves like DocuSign Connect configured for OAuth (client credentials) with mTLS and HMAC. */
export class ConnectSimulator {
  private readonly agent: Agent;
  private readonly tokens: TokenClient;
  private attackerAgent?: Agent;
  private attackerTokens?: TokenClient;

  constructor(private readonly options: SimulatorOptions) {
    this.agent = createClientAgent(options.tls);
    this.tokens = new TokenClient({
      tokenUrl: options.tokenUrl,
      auth: options.auth,
      agent: this.agent,
      scope: options.scope,
      timeoutMs: options.timeoutMs,
    });
  }

  /** Token requests sent so far by the genuine client (the token is reused between deliveries). */
  get tokenRequests(): number {
    return this.tokens.requestCount;
  }

  /** Posts one delivery, retrying on the configured schedule until a 2xx or the last attempt. */
  async deliver(delivery: Delivery): Promise<DeliveryOutcome> {
    const delays = this.options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    const maxAttempts = Math.max(1, this.options.maxAttempts ?? delays.length + 1);
    let outcome: DeliveryOutcome | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      if (attempt > 1) {
        await sleep(delays[Math.min(attempt - 2, delays.length - 1)] ?? 0);
      }
      outcome = await this.attempt(delivery, attempt);
      if (outcome.ok) {
        break;
      }
      if (outcome.status === 401 && outcome.answer?.startsWith('token_')) {
        this.tokens.forget();
      }
    }
    return this.report(outcome as DeliveryOutcome);
  }

  /**
   * Sends one delivery as an attacker would, once; `ok` means the listener refused it. An attack
   * that cannot be set up is reported as `setup_error`, never as accepted.
   */
  async attack(mode: AttackMode, delivery: Delivery): Promise<DeliveryOutcome> {
    const name = `${delivery.name} [${mode}]`;
    let request: AttackRequest;
    try {
      request = await this.prepareAttack(mode, delivery);
    } catch (error) {
      return this.report({
        name,
        kind: mode,
        error: describeError(error),
        attempts: 0,
        ok: false,
        verdict: 'setup_error',
      });
    }

    let answer;
    try {
      answer = await this.post(request.agent, request.body, request.headers);
    } catch (error) {
      const verdict = transportVerdict(error);
      return this.report({
        name,
        kind: mode,
        error: describeError(error),
        attempts: verdict === 'setup_error' ? 0 : 1,
        ok: verdict === 'refused',
        verdict,
      });
    }
    const verdict = answerVerdict(answer.status);
    return this.report({
      name,
      kind: mode,
      ...answer,
      attempts: 1,
      ok: verdict === 'refused',
      verdict,
    });
  }

  /** Sends every delivery in order; with `ratePerSecond` they start on a fixed schedule instead. */
  async run(
    deliveries: readonly Delivery[],
    options: { readonly ratePerSecond?: number } = {},
  ): Promise<DeliveryOutcome[]> {
    if (!options.ratePerSecond) {
      const outcomes: DeliveryOutcome[] = [];
      for (const delivery of deliveries) {
        outcomes.push(await this.deliver(delivery));
      }
      return outcomes;
    }
    const intervalMs = 1000 / options.ratePerSecond;
    const startedAt = Date.now();
    const running: Promise<DeliveryOutcome>[] = [];
    for (const [index, delivery] of deliveries.entries()) {
      const waitMs = startedAt + index * intervalMs - Date.now();
      if (waitMs > 0) {
        await sleep(waitMs);
      }
      running.push(this.deliver(delivery));
    }
    return Promise.all(running);
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
    this.attackerAgent?.destroy();
  }

  private async attempt(delivery: Delivery, attempt: number): Promise<DeliveryOutcome> {
    const base = { name: delivery.name, kind: 'genuine' as const, attempts: attempt };
    try {
      const token = await this.tokens.accessToken();
      const answer = await this.post(this.agent, delivery.body, {
        ...this.signatureHeaders(delivery.body),
        authorization: `Bearer ${token}`,
        'content-type': delivery.contentType,
      });
      return { ...base, ...answer, ok: answer.status >= 200 && answer.status < 300 };
    } catch (error) {
      return { ...base, error: describeError(error), ok: false };
    }
  }

  // gets the token and the connection the attack needs; a failure here is the simulator's
  private async prepareAttack(mode: AttackMode, delivery: Delivery): Promise<AttackRequest> {
    const headers = { 'content-type': delivery.contentType };
    switch (mode) {
      case 'tampered-body': {
        const token = await this.tokens.accessToken();
        return {
          agent: this.agent,
          body: tamper(delivery.body),
          headers: {
            ...headers,
            ...this.signatureHeaders(delivery.body),
            authorization: `Bearer ${token}`,
          },
        };
      }
      case 'no-signature': {
        const token = await this.tokens.accessToken();
        return {
          agent: this.agent,
          body: delivery.body,
          headers: { ...headers, authorization: `Bearer ${token}` },
        };
      }
      case 'wrong-certificate': {
        // Connect's own (valid, bound) token and signature, over a connection with another certificate
        const attacker = this.attacker();
        const token = await this.tokens.accessToken();
        return {
          agent: attacker.agent,
          body: delivery.body,
          headers: {
            ...headers,
            ...this.signatureHeaders(delivery.body),
            authorization: `Bearer ${token}`,
          },
        };
      }
      case 'token-bound-to-other-certificate': {
        // a token obtained over another certificate, replayed over Connect's own connection
        const token = await this.attacker().tokens.accessToken();
        return {
          agent: this.agent,
          body: delivery.body,
          headers: {
            ...headers,
            ...this.signatureHeaders(delivery.body),
            authorization: `Bearer ${token}`,
          },
        };
      }
    }
  }

  private attacker(): { agent: Agent; tokens: TokenClient } {
    if (!this.options.attacker) {
      throw new Error('this attack needs an attacker certificate and key');
    }
    this.attackerAgent ??= createClientAgent({ ...this.options.attacker, ca: this.options.tls.ca });
    this.attackerTokens ??= new TokenClient({
      tokenUrl: this.options.tokenUrl,
      auth: this.options.auth,
      agent: this.attackerAgent,
      scope: this.options.scope,
      timeoutMs: this.options.timeoutMs,
    });
    return { agent: this.attackerAgent, tokens: this.attackerTokens };
  }

  private signatureHeaders(body: Buffer): Record<string, string> {
    const headers: Record<string, string> = {};
    this.options.hmacKeys.forEach((key, index) => {
      headers[`X-DocuSign-Signature-${index + 1}`] = signConnectBody(key, body);
    });
    if (this.options.hmacKeys.length > 0) {
      headers['X-Authorization-Digest'] = 'HMACSHA256';
    }
    return headers;
  }

  private async post(
    agent: Agent,
    body: Buffer,
    headers: Record<string, string>,
  ): Promise<{ status: number; answer?: string; deliveryId?: string }> {
    const url = new URL(
      `/connect/${encodeURIComponent(this.options.profile)}`,
      this.options.listenerUrl,
    );
    const answer = await sendHttps(url.href, {
      agent,
      method: 'POST',
      headers: { ...headers, 'user-agent': 'countersign-connect-simulator' },
      body,
      expectContinue: body.length >= (this.options.expectContinueFromBytes ?? 16 * 1024),
      timeoutMs: this.options.timeoutMs ?? 100_000,
    });
    const parsed = parseAnswer(answer.body);
    return {
      status: answer.status,
      answer: parsed.status ?? parsed.error,
      deliveryId: parsed.deliveryId,
    };
  }

  private report(outcome: DeliveryOutcome): DeliveryOutcome {
    this.options.onOutcome?.(outcome);
    return outcome;
  }
}

/** Connect's signature: base64 HMAC-SHA256 over the exact body, keyed with the key's UTF-8 bytes. */
export function signConnectBody(key: string, body: Buffer): string {
  return createHmac('sha256', Buffer.from(key, 'utf8')).update(body).digest('base64');
}

/** The body with one character changed after it was signed: what a man in the middle would send. */
export function tamper(body: Buffer): Buffer {
  const copy = Buffer.from(body);
  for (let index = copy.length - 1; index >= 0; index -= 1) {
    const byte = copy[index];
    if (byte >= 0x30 && byte <= 0x39) {
      copy[index] = byte === 0x39 ? 0x30 : byte + 1;
      return copy;
    }
  }
  return Buffer.concat([copy, Buffer.from(' ')]);
}

const VERDICT_LABELS: Record<AttackVerdict, string> = {
  refused: 'refused (attack stopped)',
  accepted: 'ACCEPTED (attack got through)',
  no_verdict: 'NO VERDICT (unexpected answer)',
  setup_error: 'SETUP ERROR (attack not sent)',
};

/** An attack outcome's verdict; one without a recorded verdict is never taken as accepted. */
export function attackVerdict(outcome: DeliveryOutcome): AttackVerdict {
  return outcome.verdict ?? (outcome.ok ? 'refused' : 'no_verdict');
}

/** One line per delivery for people reading the simulator's output. */
export function formatOutcome(outcome: DeliveryOutcome): string {
  const verdict =
    outcome.kind === 'genuine'
      ? outcome.ok
        ? 'delivered'
        : 'FAILED'
      : VERDICT_LABELS[attackVerdict(outcome)];
  const http = outcome.status === undefined ? 'no answer' : `HTTP ${outcome.status}`;
  const detail = outcome.answer ?? outcome.error ?? '';
  const id = outcome.deliveryId ? ` deliveryId=${outcome.deliveryId}` : '';
  return `${verdict.padEnd(30)} ${http.padEnd(10)} ${detail.padEnd(34)} attempts=${outcome.attempts} ${outcome.name}${id}`;
}

/**
 * Counts for the closing line; `failed` counts genuine deliveries that never got a 2xx, and each
 * attack counts under its verdict (`attacksAccepted` only for a 2xx from the listener).
 */
export function summarize(outcomes: readonly DeliveryOutcome[]): {
  delivered: number;
  failed: number;
  attacksRefused: number;
  attacksAccepted: number;
  attacksWithoutVerdict: number;
  attacksNotSent: number;
} {
  const genuine = outcomes.filter((outcome) => outcome.kind === 'genuine');
  const verdicts = outcomes
    .filter((outcome) => outcome.kind !== 'genuine')
    .map((outcome) => attackVerdict(outcome));
  const count = (verdict: AttackVerdict) => verdicts.filter((each) => each === verdict).length;
  return {
    delivered: genuine.filter((outcome) => outcome.ok).length,
    failed: genuine.filter((outcome) => !outcome.ok).length,
    attacksRefused: count('refused'),
    attacksAccepted: count('accepted'),
    attacksWithoutVerdict: count('no_verdict'),
    attacksNotSent: count('setup_error'),
  };
}

// a TLS stack that ends the handshake has refused the delivery as surely as a 401 would; an error
// before any connection (nobody listening, an untrusted server certificate) is the simulator's
const TLS_REFUSAL = /^ERR_SSL_.*ALERT|^(ECONNRESET|EPIPE)$/;
const NO_ANSWER = /^(ETIMEDOUT|ESOCKETTIMEDOUT)$/;

function transportVerdict(error: unknown): AttackVerdict {
  const code = (error as NodeJS.ErrnoException)?.code ?? '';
  if (TLS_REFUSAL.test(code)) return 'refused';
  if (NO_ANSWER.test(code)) return 'no_verdict';
  return 'setup_error';
}

/**
 * Only a refusal of the delivery's credentials proves an attack was stopped: 401 (certificate,
 * token, binding, signature) or 403 (scope). A 404 (a mistyped profile, or not a listener at all),
 * 405, 408, 413, 415 or 429 says nothing about the checks and must not let a run pass.
 */
function answerVerdict(status: number): AttackVerdict {
  if (status >= 200 && status < 300) return 'accepted';
  if (status === 401 || status === 403) return 'refused';
  return 'no_verdict';
}

function parseAnswer(body: Buffer): { status?: string; error?: string; deliveryId?: string } {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (typeof value !== 'object' || value === null) {
      return {};
    }
    const record = value as Record<string, unknown>;
    const text = (key: string) => (typeof record[key] === 'string' ? record[key] : undefined);
    return { status: text('status'), error: text('error'), deliveryId: text('deliveryId') };
  } catch {
    return {};
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
