/**
 * Which address a request really comes from, believing `X-Forwarded-For`
 * only as far as it was written by proxies the operator trusts.
 *
 * Each trusted proxy appends the address it saw, so the header is read from
 * the right: entries added by trusted hops are skipped, and the first entry
 * a trusted hop vouches for that is not itself trusted is the client.
 * Everything left of it was written by the client and is ignored.
 */

/** An IPv6 address (IPv4 as IPv4-mapped) and how many leading bits count. */
interface Network {
  bytes: Uint8Array;
  prefixBits: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEX_GROUP = /^[0-9a-f]{1,4}$/i;
const MAPPED_IPV4 = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

/**
 * Builds a check for addresses in `trusted` (plain IPv4/IPv6 addresses or
 * CIDRs). IPv4 and IPv4-mapped IPv6 (`::ffff:10.0.0.1`) are the same address,
 * since a dual-stack socket reports the latter. Throws on an entry that is
 * neither (the config validator reports these first).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createProxyTrust } from "./client_address.ts";
 * const isTrusted = createProxyTrust(["10.0.0.0/8", "fd00::/8"]);
 * assert.equal(isTrusted("10.1.2.3"), true);
 * assert.equal(isTrusted("::ffff:10.1.2.3"), true);
 * assert.equal(isTrusted("192.0.2.1"), false);
 * ```
 */
export function createProxyTrust(
  trusted: readonly string[],
): (address: string) => boolean {
  const networks = trusted.map(parseNetwork);
  return function isTrustedProxy(address) {
    const bytes = parseIp(bareAddress(address));
    return bytes !== null &&
      networks.some((network) => inNetwork(bytes, network));
  };
}

/**
 * Whether `entry` is something {@linkcode createProxyTrust} accepts: an IPv4
 * or IPv6 address, or a CIDR. For the config validator.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isProxyEntry } from "./client_address.ts";
 * assert.equal(isProxyEntry("10.0.0.0/8"), true);
 * assert.equal(isProxyEntry("proxy.internal"), false);
 * ```
 */
export function isProxyEntry(entry: string): boolean {
  try {
    parseNetwork(entry);
    return true;
  } catch {
    return false;
  }
}

/**
 * The client's address: the peer itself unless the peer is a trusted proxy,
 * in which case `X-Forwarded-For` is walked from the right past trusted hops
 * to the first untrusted one. If every hop is trusted the leftmost is the
 * client; if the walk meets an entry that is not an IP address, the last
 * trusted hop (which wrote it) is as far as the chain can be believed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createProxyTrust, resolveClientAddress } from "./client_address.ts";
 * const isTrusted = createProxyTrust(["10.0.0.0/8"]);
 * const headers = new Headers({ "x-forwarded-for": "6.6.6.6, 203.0.113.9, 10.0.0.2" });
 * assert.equal(resolveClientAddress("10.0.0.1", headers, isTrusted), "203.0.113.9");
 * assert.equal(resolveClientAddress("198.51.100.7", headers, isTrusted), "198.51.100.7");
 * ```
 */
export function resolveClientAddress(
  peer: string | undefined,
  headers: Headers,
  isTrusted: (address: string) => boolean,
): string | undefined {
  if (peer === undefined) return undefined;
  let client = bareAddress(peer);
  if (!isTrusted(client)) return client;
  const hops = (headers.get("x-forwarded-for") ?? "").split(",")
    .map((hop) => hop.trim())
    .filter((hop) => hop !== "");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = bareAddress(hops[i]);
    if (parseIp(hop) === null) return client;
    client = hop;
    if (!isTrusted(hop)) return client;
  }
  return client;
}

/**
 * The address alone: brackets, port and zone removed, and IPv4-mapped IPv6
 * written as IPv4, so one host has one spelling (e.g. as a rate-limit key).
 */
function bareAddress(text: string): string {
  let address = text;
  const bracketed = address.match(/^\[([^\]]*)\](?::\d+)?$/);
  if (bracketed) address = bracketed[1];
  else if (/^[\d.]+:\d+$/.test(address)) address = address.split(":")[0];
  address = address.replace(/%.*$/, "");
  return address.match(MAPPED_IPV4)?.[1] ?? address;
}

function parseNetwork(entry: string): Network {
  const [address, prefix, ...extra] = entry.trim().split("/");
  const bytes = parseIp(address);
  const maxBits = address.includes(":") ? 128 : 32;
  const prefixBits = prefix === undefined ? maxBits : Number(prefix);
  if (
    bytes === null || extra.length > 0 ||
    (prefix !== undefined && !/^\d{1,3}$/.test(prefix)) || prefixBits > maxBits
  ) {
    throw new TypeError(
      `Cannot trust proxy as it is not an IP address or CIDR: current value is "${entry}"`,
    );
  }
  return { bytes, prefixBits: prefixBits + (128 - maxBits) };
}

function inNetwork(bytes: Uint8Array, network: Network): boolean {
  const fullBytes = Math.floor(network.prefixBits / 8);
  for (let i = 0; i < fullBytes; i++) {
    if (bytes[i] !== network.bytes[i]) return false;
  }
  const restBits = network.prefixBits % 8;
  if (restBits === 0) return true;
  const mask = (0xff << (8 - restBits)) & 0xff;
  return (bytes[fullBytes] & mask) === (network.bytes[fullBytes] & mask);
}

/** 16 bytes for an IPv4 (as IPv4-mapped) or IPv6 address, or `null`. */
function parseIp(text: string): Uint8Array | null {
  if (!text.includes(":")) {
    const ipv4 = parseIpv4(text);
    if (ipv4 === null) return null;
    const bytes = new Uint8Array(16);
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    bytes.set(ipv4, 12);
    return bytes;
  }
  return parseIpv6(text);
}

function parseIpv4(text: string): number[] | null {
  const match = text.match(IPV4);
  if (!match) return null;
  const octets = match.slice(1);
  // Leading zeros are refused: some parsers read them as octal.
  if (octets.some((octet) => octet.length > 1 && octet.startsWith("0"))) {
    return null;
  }
  const values = octets.map(Number);
  return values.every((value) => value <= 255) ? values : null;
}

function parseIpv6(text: string): Uint8Array | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const compressed = halves.length === 2;
  const head = parseHexGroups(halves[0], !compressed);
  const tail = compressed ? parseHexGroups(halves[1], true) : [];
  if (head === null || tail === null) return null;
  const given = head.length + tail.length;
  if (compressed ? given > 7 : given !== 8) return null;
  const words = [...head, ...Array(8 - given).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  words.forEach((word, i) => {
    bytes[i * 2] = word >> 8;
    bytes[i * 2 + 1] = word & 0xff;
  });
  return bytes;
}

/**
 * Colon-separated 16-bit groups; the very last group of an address may be
 * an embedded IPv4 (two words), as in `::ffff:192.0.2.1`.
 */
function parseHexGroups(text: string, endsAddress: boolean): number[] | null {
  if (text === "") return [];
  const groups = text.split(":");
  const words: number[] = [];
  for (const [i, group] of groups.entries()) {
    if (endsAddress && i === groups.length - 1 && group.includes(".")) {
      const ipv4 = parseIpv4(group);
      if (ipv4 === null) return null;
      words.push((ipv4[0] << 8) | ipv4[1], (ipv4[2] << 8) | ipv4[3]);
    } else if (HEX_GROUP.test(group)) {
      words.push(parseInt(group, 16));
    } else {
      return null;
    }
  }
  return words;
}
