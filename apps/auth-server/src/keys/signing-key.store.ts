import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ConfigurationError } from '@countersign/common';
import { importJWK, type CryptoKey, type JSONWebKeySet, type JWK, type KeyObject } from 'jose';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';

import { AUTH_SERVER_CONFIG, type AuthServerConfig } from '../config/auth-server.config.js';
import {
  createSigningKey,
  publicJwkOf,
  readSigningKeys,
  type StoredSigningKey,
} from './key-directory.js';
import { selectKeys } from './key-selection.js';

/** The key that signs a token right now. */
export interface ActiveSigningKey {
  readonly kid: string;
  readonly alg: StoredSigningKey['alg'];
  readonly key: CryptoKey | KeyObject;
}

/**
 * The signing keys of the keys directory. The directory is read again every
 * AUTH_KEYS_RELOAD_SECONDS, so a key added by `keys rotate` is picked up without a restart.
 */
@Injectable()
export class SigningKeyStore implements OnModuleInit, OnModuleDestroy {
  private keys: readonly StoredSigningKey[] = [];
  private readonly imported = new Map<string, CryptoKey | KeyObject>();
  private timer?: NodeJS.Timeout;
  private lastLoadOk = false;

  constructor(
    @Inject(AUTH_SERVER_CONFIG) private readonly config: AuthServerConfig,
    @InjectPinoLogger(SigningKeyStore.name) private readonly logger: PinoLogger,
  ) {}

  /** Loads the keys (a broken file stops start-up) and makes one if none signs with the alg. */
  async onModuleInit(): Promise<void> {
    await this.load();
    const active = this.selection().active;
    if (active === undefined || active.alg !== this.config.keys.algorithm) {
      const created = await this.generate();
      this.logger.info({ kid: created.kid, alg: created.alg }, 'generated a signing key');
      await this.load();
    }
    this.timer = setInterval(() => void this.reload(), this.config.keys.reloadSeconds * 1000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Reads the directory again; on a broken directory the previous keys stay in use. */
  async reload(): Promise<void> {
    try {
      await this.load();
    } catch (error) {
      this.lastLoadOk = false;
      this.logger.error(
        { err: error instanceof ConfigurationError ? error.problems.join('; ') : String(error) },
        'cannot reload the signing keys; keeping the previous set',
      );
    }
  }

  /** Whether the last read of the keys directory worked and a key can sign. */
  healthy(): boolean {
    return this.lastLoadOk && this.selection().active !== undefined;
  }

  /** The active key; throws when none exists (start-up guarantees one). */
  async activeKey(): Promise<ActiveSigningKey> {
    const active = this.selection().active;
    if (active === undefined) {
      throw new Error('no active signing key');
    }
    return { kid: active.kid, alg: active.alg, key: await this.importKey(active) };
  }

  /** The public JWK Set: public members, `kid`, `alg`, `use: sig`. */
  jwks(): JSONWebKeySet {
    return {
      keys: this.selection().published.map((stored): JWK => ({
        ...publicJwkOf(stored.privateJwk),
        kid: stored.kid,
        alg: stored.alg,
        use: 'sig',
      })),
    };
  }

  private async generate(): Promise<StoredSigningKey> {
    try {
      return await createSigningKey(this.config.keys.dir, this.config.keys.algorithm);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'failed';
      throw new ConfigurationError('environment', [
        `AUTH_KEYS_DIR: cannot write a signing key to ${this.config.keys.dir} (${code})`,
      ]);
    }
  }

  private selection() {
    return selectKeys(this.keys, new Date(), this.config.maxTokenTtlSeconds);
  }

  private async load(): Promise<void> {
    const keys = await readSigningKeys(this.config.keys.dir);
    const added = keys.filter((key) => !this.keys.some((known) => known.kid === key.kid));
    this.keys = keys;
    this.lastLoadOk = true;
    for (const key of added) {
      this.logger.info(
        { kid: key.kid, alg: key.alg, activatesAt: key.activatesAt },
        'loaded a signing key',
      );
    }
  }

  private async importKey(stored: StoredSigningKey): Promise<CryptoKey | KeyObject> {
    const cached = this.imported.get(stored.kid);
    if (cached !== undefined) return cached;
    const key = await importJWK(stored.privateJwk, stored.alg);
    if (key instanceof Uint8Array) {
      throw new Error('a signing key must be asymmetric');
    }
    this.imported.set(stored.kid, key);
    return key;
  }
}
