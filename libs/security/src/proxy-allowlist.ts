import { BlockList, isIP } from 'node:net';

import { accept, reject, type Verdict } from './verdict.js';

/** The peers (TLS-terminating proxies) whose forwarded-certificate headers are believed. */
export interface ProxyAllowlist {
  readonly entries: readonly string[];
  /** Whether a socket's remote address is an allowed proxy (IPv4-mapped IPv6 counts as IPv4). */
  allows(remoteAddress: string | undefined): boolean;
}

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;
const PREFIX = /^(?:0|[1-9][0-9]{0,2})$/;

/** Builds an allowlist from IP addresses and CIDR blocks, IPv4 or IPv6. */
export function createProxyAllowlist(cidrsOrIps: string[]): Verdict<ProxyAllowlist> {
  const blockList = new BlockList();
  for (const entry of cidrsOrIps) {
    if (typeof entry !== 'string') {
      return reject('forwarded_proxy_allowlist_invalid', 'entries must be strings');
    }
    const [addressText, prefixText, extra] = entry.trim().split('/');
    const address = unmapIpv4(addressText);
    const family = isIP(address);
    if (family === 0 || extra !== undefined) {
      return reject('forwarded_proxy_allowlist_invalid', `not an IP or CIDR: ${entry}`);
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefixText === undefined) {
      try {
        blockList.addAddress(address, type);
      } catch {
        return reject('forwarded_proxy_allowlist_invalid', `not an IP: ${entry}`);
      }
      continue;
    }
    const prefix = Number(prefixText);
    const maxPrefix = family === 4 ? 32 : 128;
    if (!PREFIX.test(prefixText) || prefix > maxPrefix) {
      return reject('forwarded_proxy_allowlist_invalid', `bad prefix length: ${entry}`);
    }
    try {
      blockList.addSubnet(address, prefix, type);
    } catch {
      return reject('forwarded_proxy_allowlist_invalid', `not a CIDR: ${entry}`);
    }
  }

  const entries = [...cidrsOrIps];
  return accept({
    entries,
    allows(remoteAddress: string | undefined): boolean {
      if (typeof remoteAddress !== 'string') {
        return false;
      }
      const address = unmapIpv4(remoteAddress);
      const family = isIP(address);
      if (family === 0) {
        return false;
      }
      try {
        return blockList.check(address, family === 4 ? 'ipv4' : 'ipv6');
      } catch {
        return false;
      }
    },
  });
}

function unmapIpv4(address: string): string {
  const mapped = IPV4_MAPPED.exec(address);
  return mapped === null ? address : mapped[1];
}
