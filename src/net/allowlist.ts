/**
 * The outbound-address rule for URLs a caller gives mediabot (prompt URLs): only public unicast
 * addresses, unless an explicit allowlist (MEDIABOT_FETCH_ALLOWLIST: host names, IPs or CIDRs)
 * names the target. Pure functions; src/net/safe-fetch.ts enforces them on every connection.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { MediabotError } from '../errors.js';

export interface FetchAllowlist {
  /** Lower-case host names allowed whatever they resolve to. */
  hosts: string[];
  /** IPs and CIDRs allowed although private, as `addr/bits`. */
  cidrs: string[];
}

/** Parses a comma list of host names, IPs and CIDRs; throws MEDIABOT_CONFIG_INVALID naming the variable. */
export function parseFetchAllowlist(raw: string | undefined, variable = 'MEDIABOT_FETCH_ALLOWLIST'): string[] {
  const out: string[] = [];
  for (const item of (raw ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    if (item.includes('/')) {
      try {
        const [addr, bits] = ipaddr.parseCIDR(item);
        out.push(`${addr.toString()}/${bits}`);
        continue;
      } catch {
        throw new MediabotError('MEDIABOT_CONFIG_INVALID', `${variable}=${JSON.stringify(item)} is invalid: expected a host name, an IP or a CIDR`, { variable });
      }
    }
    if (isIP(item) !== 0) {
      out.push(item.toLowerCase());
      continue;
    }
    if (!/^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*$/.test(item)) {
      throw new MediabotError('MEDIABOT_CONFIG_INVALID', `${variable}=${JSON.stringify(item)} is invalid: expected a host name, an IP or a CIDR`, { variable });
    }
    out.push(item.toLowerCase());
  }
  return out;
}

/** Splits parsed allowlist entries into host names and address ranges. */
export function splitAllowlist(entries: readonly string[]): FetchAllowlist {
  const hosts: string[] = [];
  const cidrs: string[] = [];
  for (const e of entries) {
    if (e.includes('/')) cidrs.push(e);
    else if (isIP(e) !== 0) {
      const p = ipaddr.parse(e);
      cidrs.push(`${p.toString()}/${p.kind() === 'ipv4' ? 32 : 128}`);
    } else hosts.push(e.toLowerCase());
  }
  return { hosts, cidrs };
}

/** Normalises an address: IPv4-mapped IPv6 becomes the IPv4 address. Throws on a non-address. */
function parseAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 {
  const a = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  return ipaddr.process(a);
}

/** True when `address` falls in one of the allowlist's ranges. */
export function addressAllowlisted(address: string, cidrs: readonly string[]): boolean {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = parseAddress(address);
  } catch {
    return false;
  }
  for (const c of cidrs) {
    const range = ipaddr.parseCIDR(c);
    if (range[0].kind() === parsed.kind() && parsed.match(range)) return true;
  }
  return false;
}

/**
 * Why an address may not be fetched, or null when it may: anything but public unicast is refused
 * (loopback, private, link-local (cloud metadata 169.254.169.254 included), carrier-grade NAT,
 * unique-local, multicast, broadcast, unspecified, reserved, documentation and translation
 * ranges), IPv4-mapped IPv6 judged as its IPv4 address. Strings that are not addresses are refused.
 */
export function refusedAddressReason(address: string, cidrs: readonly string[] = []): string | null {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = parseAddress(address);
  } catch {
    return 'not an IP address';
  }
  if (addressAllowlisted(parsed.toString(), cidrs)) return null;
  const range = parsed.range();
  if (range !== 'unicast') return range;
  // fd00:ec2::254 (a cloud metadata address) is unique-local, already refused above; this covers
  // the IPv4 metadata address should a future ipaddr.js class it otherwise.
  if (parsed.kind() === 'ipv4' && parsed.toString() === '169.254.169.254') return 'metadata';
  return null;
}

/**
 * The host name of a URL as an address when it is one, whatever the spelling: WHATWG URL parsing
 * already turns 0x7f000001, 2130706433, 0177.0.0.1 and 127.1 into 127.0.0.1.
 */
export function urlHostAddress(url: URL): string | null {
  const h = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(h) !== 0 ? h : null;
}
