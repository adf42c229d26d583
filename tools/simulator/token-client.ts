import type { Agent } from 'node:https';

import { sendHttps } from './https-client.js';

/** How the simulator authenticates to the token endpoint. */
export type TokenEndpointAuth =
  | { readonly method: 'client_secret_basic'; readonly clientId: string; readonly secret: string }
  | { readonly method: 'tls_client_auth'; readonly clientId: string };

export interface TokenClientOptions {
  readonly tokenUrl: string;
  readonly auth: TokenEndpointAuth;
  /** Carries the client certificate: the token gets bound to it. */
  readonly agent: Agent;
  readonly scope?: string;
  /** Ask for a new token this long before the current one expires. */
  readonly refreshMarginSeconds?: number;
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

/** The token endpoint refused or answered something that is not a token. */
export class TokenRequestError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly oauthError?: string,
  ) {
    super(message);
    this.name = 'TokenRequestError';
  }
}

/** application/x-www-form-urlencoded encoding of one value, as RFC 6749 Appendix B asks. */
export function formUrlEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/**
 * Client credentials grant with the token reused until shortly before `expires_in` runs out,
 * like Connect: one token request serves many deliveries.
 */
export class TokenClient {
  private cached?: { token: string; refreshAt: number };
  private pending?: Promise<string>;
  private requests = 0;

  constructor(private readonly options: TokenClientOptions) {}

  /** How many token requests were sent so far. */
  get requestCount(): number {
    return this.requests;
  }

  /** A valid access token: the cached one, or a new one when it is about to expire. */
  async accessToken(): Promise<string> {
    const now = this.now();
    if (this.cached && now < this.cached.refreshAt) {
      return this.cached.token;
    }
    this.pending ??= this.requestToken().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Drops the cached token, e.g. after the listener refused it. */
  forget(): void {
    this.cached = undefined;
  }

  private async requestToken(): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (this.options.scope) {
      form.set('scope', this.options.scope);
    }
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    const { auth } = this.options;
    if (auth.method === 'client_secret_basic') {
      const pair = `${formUrlEncode(auth.clientId)}:${formUrlEncode(auth.secret)}`;
      headers.authorization = `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
    } else {
      form.set('client_id', auth.clientId);
    }

    this.requests += 1;
    const startedAt = this.now();
    const answer = await sendHttps(this.options.tokenUrl, {
      agent: this.options.agent,
      method: 'POST',
      headers,
      body: Buffer.from(form.toString(), 'utf8'),
      timeoutMs: this.options.timeoutMs ?? 10_000,
    });

    const parsed = parseJsonObject(answer.body);
    if (answer.status !== 200) {
      const oauthError = typeof parsed?.error === 'string' ? parsed.error : undefined;
      throw new TokenRequestError(
        `token endpoint answered ${answer.status}${oauthError ? ` ${oauthError}` : ''}`,
        answer.status,
        oauthError,
      );
    }
    const token = parsed?.access_token;
    const expiresIn = parsed?.expires_in;
    if (typeof token !== 'string' || token.length === 0) {
      throw new TokenRequestError('token endpoint answered 200 without an access_token', 200);
    }
    if (typeof parsed?.token_type !== 'string' || parsed.token_type.toLowerCase() !== 'bearer') {
      throw new TokenRequestError('token endpoint answered a token_type other than Bearer', 200);
    }

    // without expires_in the token is used once: never assume a lifetime we were not told
    const lifetimeMs = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn * 1000 : 0;
    const marginMs = Math.min((this.options.refreshMarginSeconds ?? 30) * 1000, lifetimeMs / 2);
    this.cached = { token, refreshAt: startedAt + lifetimeMs - marginMs };
    return token;
  }

  private now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }
}

function parseJsonObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
