import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { ConfigurationError, validateConfig } from '@countersign/common';
import type { JSONWebKeySet } from 'jose';
import {
  AccessTokenVerifier,
  createTrustBundle,
  type AccessTokenAlgorithm,
  parseDistinguishedName,
  VerifiedTokenCache,
  type HmacKey,
  type SubjectRule,
  type TrustBundle,
} from '@countersign/security';
import {
  PROFILE_NAME_PATTERN,
  ProfileSettings,
  type CertificateSettings,
  type SubjectRuleSettings,
  type TokenSettings,
} from '../config/profiles-file.js';
import type {
  CompiledCertificateRules,
  CompiledTokenRules,
  DeliveryProfile,
} from './delivery-profile.js';

/** Verified tokens kept per profile; Connect reuses one token for many deliveries. */
const TOKEN_CACHE_ENTRIES = 1000;

/** What compiling the profiles needs besides the file itself. */
export interface ProfileCompilerContext {
  readonly mode: 'tls' | 'proxy';
  /** The listener's client CA bundle (PEM), when configured. */
  readonly clientCaPem?: string;
  /** Where `secretEnv` names are looked up. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

class ProblemList {
  readonly problems: string[] = [];

  add(profile: string, problem: string): void {
    this.problems.push(`profile "${profile}": ${problem}`);
  }
}

function readText(path: string, what: string, problems: ProblemList, profile: string) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    problems.add(profile, `${what} ${path} cannot be read`);
    return undefined;
  }
}

/** What `matchSubject` accepts as a subject DN: it parses, and names at least one RDN. */
function isDistinguishedName(dn: string): boolean {
  const parsed = parseDistinguishedName(dn);
  return parsed.ok && parsed.evidence.length > 0;
}

function subjectRule(settings: SubjectRuleSettings): SubjectRule | undefined {
  const rules: SubjectRule[] = [];
  if (settings.subjectDn !== undefined) rules.push({ subjectDn: settings.subjectDn });
  if (settings.sanDns !== undefined) rules.push({ sanDns: settings.sanDns });
  if (settings.sanUri !== undefined) rules.push({ sanUri: settings.sanUri });
  if (settings.sanIp !== undefined) rules.push({ sanIp: settings.sanIp });
  if (settings.sanEmail !== undefined) rules.push({ sanEmail: settings.sanEmail });
  return rules.length === 1 ? rules[0] : undefined;
}

function compileCertificate(
  name: string,
  settings: CertificateSettings,
  baseDir: string,
  context: ProfileCompilerContext,
  listenerTrust: TrustBundle | undefined,
  problems: ProblemList,
): CompiledCertificateRules | undefined {
  let profileTrust: TrustBundle | undefined;
  if (settings.trustedCaFile !== undefined) {
    const path = resolve(baseDir, settings.trustedCaFile);
    const pem = readText(path, 'certificate.trustedCaFile', problems, name);
    if (pem === undefined) return undefined;
    const bundle = createTrustBundle(pem);
    if (!bundle.ok) {
      problems.add(name, `certificate.trustedCaFile ${path} holds no usable CA (${bundle.reason})`);
      return undefined;
    }
    profileTrust = bundle.evidence;
  }

  const subjects: SubjectRule[] = [];
  for (const [index, rule] of (settings.subjects ?? []).entries()) {
    const compiled = subjectRule(rule);
    if (compiled === undefined) {
      problems.add(name, `certificate.subjects.${index} must set exactly one member`);
      return undefined;
    }
    // a rule that can never match would refuse every delivery at run time: refuse it now
    if ('subjectDn' in compiled && !isDistinguishedName(compiled.subjectDn)) {
      problems.add(name, `certificate.subjects.${index}.subjectDn is not an RFC 4514 name`);
      return undefined;
    }
    if ('sanIp' in compiled && isIP(compiled.sanIp) === 0) {
      problems.add(name, `certificate.subjects.${index}.sanIp is not an IP address`);
      return undefined;
    }
    subjects.push(compiled);
  }

  if (context.mode === 'tls' && context.clientCaPem === undefined) {
    problems.add(name, 'the mtls check needs LISTENER_CLIENT_CA_FILE in tls mode');
    return undefined;
  }
  const trust = profileTrust ?? listenerTrust;
  if (trust === undefined && settings.pins === undefined) {
    problems.add(
      name,
      'the mtls check needs certificate.trustedCaFile, certificate.pins, or LISTENER_CLIENT_CA_FILE',
    );
    return undefined;
  }

  return {
    policy: {
      trust,
      subjects: subjects.length > 0 ? subjects : undefined,
      pins: settings.pins,
    },
    profileTrust,
  };
}

/** The algorithms AccessTokenVerifier accepts by default (never `none` or HS*). */
const TOKEN_ALGORITHMS: ReadonlySet<string> = new Set<AccessTokenAlgorithm>([
  'ES256',
  'PS256',
  'RS256',
  'EdDSA',
]);

/**
 * Whether a JWK could verify an access token: an asymmetric public key (no private part), not
 * restricted to encryption or to an algorithm the verifier refuses, that Node can import.
 */
function isVerificationKey(key: unknown): boolean {
  if (typeof key !== 'object' || key === null || Array.isArray(key)) return false;
  const { kty, d, use, key_ops: operations, alg } = key as Record<string, unknown>;
  if (d !== undefined || (kty !== 'EC' && kty !== 'RSA' && kty !== 'OKP')) return false;
  if (use !== undefined && use !== 'sig') return false;
  if (operations !== undefined && !(Array.isArray(operations) && operations.includes('verify'))) {
    return false;
  }
  if (alg !== undefined && !(typeof alg === 'string' && TOKEN_ALGORITHMS.has(alg))) return false;
  try {
    return createPublicKey({ key: key as JsonWebKey, format: 'jwk' }).type === 'public';
  } catch {
    return false;
  }
}

function compileToken(
  name: string,
  settings: TokenSettings,
  baseDir: string,
  problems: ProblemList,
): CompiledTokenRules | undefined {
  if ((settings.jwksUri === undefined) === (settings.jwksFile === undefined)) {
    problems.add(name, 'token must set exactly one of jwksUri and jwksFile');
    return undefined;
  }
  if (settings.jwksCaFile !== undefined && settings.jwksUri === undefined) {
    problems.add(name, 'token.jwksCaFile only applies with token.jwksUri');
    return undefined;
  }

  const common = {
    issuer: settings.issuer,
    audience: settings.audience,
    clockToleranceSeconds: settings.clockToleranceSeconds,
  };
  let verifier: AccessTokenVerifier;
  if (settings.jwksFile !== undefined) {
    const path = resolve(baseDir, settings.jwksFile);
    const text = readText(path, 'token.jwksFile', problems, name);
    if (text === undefined) return undefined;
    let jwks: unknown;
    try {
      jwks = JSON.parse(text);
    } catch {
      problems.add(name, `token.jwksFile ${path} is not JSON`);
      return undefined;
    }
    if (
      typeof jwks !== 'object' ||
      jwks === null ||
      !Array.isArray((jwks as { keys?: unknown }).keys)
    ) {
      problems.add(name, `token.jwksFile ${path} is not a JWK set ({ "keys": [...] })`);
      return undefined;
    }
    if (!(jwks as { keys: unknown[] }).keys.some(isVerificationKey)) {
      problems.add(name, `token.jwksFile ${path} holds no public key that can verify a token`);
      return undefined;
    }
    verifier = new AccessTokenVerifier({
      ...common,
      keys: { jwks: jwks as JSONWebKeySet },
    });
  } else {
    let ca: string | undefined;
    if (settings.jwksCaFile !== undefined) {
      ca = readText(resolve(baseDir, settings.jwksCaFile), 'token.jwksCaFile', problems, name);
      if (ca === undefined) return undefined;
    }
    verifier = new AccessTokenVerifier({
      ...common,
      keys: { jwksUri: settings.jwksUri as string, ca },
    });
  }

  return {
    issuer: settings.issuer,
    requiredScope: settings.requiredScope,
    verifier,
    cache: new VerifiedTokenCache({ maxEntries: TOKEN_CACHE_ENTRIES }),
    remoteJwks: settings.jwksUri !== undefined,
  };
}

function compileHmacKeys(
  name: string,
  keys: readonly { id: string; secretEnv: string }[],
  context: ProfileCompilerContext,
  problems: ProblemList,
): HmacKey[] | undefined {
  const compiled: HmacKey[] = [];
  for (const key of keys) {
    const secret = context.env[key.secretEnv];
    if (secret === undefined || secret.length === 0) {
      problems.add(name, `hmac key "${key.id}": environment variable ${key.secretEnv} is not set`);
      return undefined;
    }
    if (compiled.some((other) => other.id === key.id)) {
      problems.add(name, `hmac key id "${key.id}" appears twice`);
      return undefined;
    }
    compiled.push({ id: key.id, secret });
  }
  return compiled;
}

function compileProfile(
  name: string,
  settings: ProfileSettings,
  baseDir: string,
  context: ProfileCompilerContext,
  listenerTrust: TrustBundle | undefined,
  problems: ProblemList,
): DeliveryProfile | undefined {
  const checks = new Set(settings.checks);
  const before = problems.problems.length;

  // each check needs its settings, and settings without their check are a mistake too
  const pairs = [
    ['mtls', 'certificate', settings.certificate],
    ['oauth', 'token', settings.token],
    ['hmac', 'hmac', settings.hmac],
    ['basic', 'basic', settings.basic],
  ] as const;
  for (const [check, member, value] of pairs) {
    if (checks.has(check) && value === undefined) {
      problems.add(name, `the ${check} check needs "${member}" settings`);
    }
    if (!checks.has(check) && value !== undefined) {
      problems.add(name, `"${member}" settings are given but the ${check} check is not listed`);
    }
  }
  if (checks.has('oauth') && checks.has('basic')) {
    problems.add(name, 'oauth and basic cannot be combined (both use the Authorization header)');
  }
  if (checks.has('bound-token') && !checks.has('oauth')) {
    problems.add(name, 'the bound-token check needs the oauth check');
  }
  if (problems.problems.length > before) return undefined;

  const certificate =
    settings.certificate &&
    compileCertificate(name, settings.certificate, baseDir, context, listenerTrust, problems);
  const token = settings.token && compileToken(name, settings.token, baseDir, problems);
  const hmacKeys = settings.hmac && compileHmacKeys(name, settings.hmac.keys, context, problems);
  if (problems.problems.length > before) return undefined;

  return {
    name,
    checks: [...checks],
    certificate,
    token,
    hmacKeys,
    basic: settings.basic && {
      username: settings.basic.username,
      passwordHash: settings.basic.passwordHash,
    },
  };
}

/**
 * Reads, validates and compiles the profiles file once, at start-up: trust bundles are parsed,
 * token verifiers built and HMAC keys read from the environment. Paths in the file are relative
 * to the file. Any problem stops start-up with a ConfigurationError naming the profile.
 */
export function compileProfiles(
  profilesFile: string,
  context: ProfileCompilerContext,
): Map<string, DeliveryProfile> {
  const source = resolve(profilesFile);
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch {
    throw new ConfigurationError(source, ['the profiles file cannot be read']);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigurationError(source, ['the profiles file is not valid JSON']);
  }
  const root = parsed as { profiles?: unknown } | null;
  if (
    typeof root !== 'object' ||
    root === null ||
    Object.keys(root).some((key) => key !== 'profiles') ||
    typeof root.profiles !== 'object' ||
    root.profiles === null ||
    Array.isArray(root.profiles)
  ) {
    throw new ConfigurationError(source, [
      'the file must be { "profiles": { "<name>": { ... } } } with no other member',
    ]);
  }
  const entries = Object.entries(root.profiles as Record<string, unknown>);
  if (entries.length === 0) {
    throw new ConfigurationError(source, ['profiles: at least one profile is required']);
  }

  let listenerTrust: TrustBundle | undefined;
  if (context.clientCaPem !== undefined) {
    const bundle = createTrustBundle(context.clientCaPem);
    if (!bundle.ok) {
      throw new ConfigurationError(source, [
        `LISTENER_CLIENT_CA_FILE holds no usable CA (${bundle.reason})`,
      ]);
    }
    listenerTrust = bundle.evidence;
  }

  const problems = new ProblemList();
  const profiles = new Map<string, DeliveryProfile>();
  for (const [name, value] of entries) {
    if (!PROFILE_NAME_PATTERN.test(name)) {
      problems.add(name, 'a profile name is 1-63 lowercase letters, digits, _ or -');
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.add(name, 'a profile must be an object');
      continue;
    }
    let settings: ProfileSettings;
    try {
      settings = validateConfig(ProfileSettings, value as Record<string, unknown>, {
        source: `${source} profile "${name}"`,
        forbidUnknown: true,
      });
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error;
      for (const problem of error.problems) problems.add(name, problem);
      continue;
    }
    const profile = compileProfile(
      name,
      settings,
      dirname(source),
      context,
      listenerTrust,
      problems,
    );
    if (profile !== undefined) profiles.set(name, profile);
  }

  if (problems.problems.length > 0) throw new ConfigurationError(source, problems.problems);
  return profiles;
}
