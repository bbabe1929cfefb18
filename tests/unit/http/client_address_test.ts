import assert from "node:assert/strict";
import {
  createProxyTrust,
  isProxyEntry,
  resolveClientAddress,
} from "../../../src/http/client_address.ts";

Deno.test("createProxyTrust: IPv4 CIDRs and plain addresses", () => {
  const isTrusted = createProxyTrust([
    "10.0.0.0/8",
    "192.168.1.7",
    "172.16.0.0/12",
  ]);
  for (
    const address of [
      "10.0.0.1",
      "10.255.255.255",
      "192.168.1.7",
      "172.31.0.1",
      "172.16.0.0",
    ]
  ) {
    assert.equal(isTrusted(address), true, address);
  }
  for (
    const address of [
      "11.0.0.1",
      "192.168.1.8",
      "172.32.0.1",
      "9.255.255.255",
      "172.15.255.255",
    ]
  ) {
    assert.equal(isTrusted(address), false, address);
  }
});

Deno.test("createProxyTrust: IPv6 CIDRs, compressed forms, zones and brackets", () => {
  const isTrusted = createProxyTrust(["fd00::/8", "2001:db8::1", "::1"]);
  for (
    const address of [
      "fd12:3456::1",
      "FD00:0:0:0:0:0:0:1",
      "2001:db8::1",
      "2001:0db8:0000:0000:0000:0000:0000:0001",
      "::1",
      "[::1]",
      "[::1]:8080",
      "fd00::1%eth0",
    ]
  ) {
    assert.equal(isTrusted(address), true, address);
  }
  for (const address of ["fe00::1", "2001:db8::2", "::2", "::"]) {
    assert.equal(isTrusted(address), false, address);
  }
});

Deno.test("createProxyTrust: IPv4-mapped IPv6 is the IPv4 address, both ways", () => {
  const byIpv4 = createProxyTrust(["10.0.0.0/8"]);
  assert.equal(byIpv4("::ffff:10.1.2.3"), true);
  assert.equal(byIpv4("::FFFF:10.1.2.3"), true);
  assert.equal(byIpv4("::ffff:a01:203"), true);
  assert.equal(byIpv4("::ffff:11.1.2.3"), false);
  const byMapped = createProxyTrust(["::ffff:192.0.2.0/120"]);
  assert.equal(byMapped("192.0.2.55"), true);
  assert.equal(byMapped("192.0.3.1"), false);
});

Deno.test("createProxyTrust: /0 trusts every address of its family", () => {
  const all4 = createProxyTrust(["0.0.0.0/0"]);
  assert.equal(all4("203.0.113.1"), true);
  assert.equal(all4("2001:db8::1"), false);
  const all6 = createProxyTrust(["::/0"]);
  assert.equal(all6("2001:db8::1"), true);
  assert.equal(all6("203.0.113.1"), true);
});

Deno.test("createProxyTrust: junk addresses are never trusted", () => {
  const isTrusted = createProxyTrust(["0.0.0.0/0", "::/0"]);
  for (
    const address of [
      "",
      "unknown",
      "10.0.0.256",
      "010.0.0.1",
      "10.0.0",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "12345::1",
      "1.2.3.4::",
      "::1.2.3",
      ":1:2:3:4:5:6:7",
      "g::1",
      "_hidden",
    ]
  ) {
    assert.equal(isTrusted(address), false, address);
  }
});

Deno.test("createProxyTrust refuses entries that are not addresses or CIDRs", () => {
  for (
    const entry of [
      "10.0.0.0/33",
      "::/129",
      "10.0.0.0/",
      "10.0.0.0/8/8",
      "proxy.local",
      "10.0.0.0/-1",
    ]
  ) {
    assert.throws(() => createProxyTrust([entry]), TypeError, entry);
  }
});

Deno.test("isProxyEntry tells config entries createProxyTrust accepts", () => {
  for (
    const entry of [
      "10.0.0.0/8",
      "192.0.2.1",
      "::1",
      "fd00::/8",
      "::ffff:10.0.0.0/104",
    ]
  ) {
    assert.equal(isProxyEntry(entry), true, entry);
  }
  for (
    const entry of ["", "proxy.internal", "10.0.0.0/33", "10.0.0.0/x", "1.2.3"]
  ) {
    assert.equal(isProxyEntry(entry), false, entry);
  }
});

Deno.test("resolveClientAddress: an untrusted peer is the client, whatever it claims", () => {
  const isTrusted = createProxyTrust(["10.0.0.0/8"]);
  const headers = new Headers({ "x-forwarded-for": "10.0.0.5, 1.1.1.1" });
  assert.equal(
    resolveClientAddress("203.0.113.9", headers, isTrusted),
    "203.0.113.9",
  );
  assert.equal(resolveClientAddress(undefined, headers, isTrusted), undefined);
});

Deno.test("resolveClientAddress: walks X-Forwarded-For from the right past trusted hops", () => {
  const isTrusted = createProxyTrust(["10.0.0.0/8", "fd00::/8"]);
  const resolve = (xff: string | null, peer = "10.0.0.1") =>
    resolveClientAddress(
      peer,
      new Headers(xff === null ? {} : { "x-forwarded-for": xff }),
      isTrusted,
    );
  assert.equal(resolve("203.0.113.9"), "203.0.113.9");
  assert.equal(resolve("6.6.6.6, 203.0.113.9, 10.0.0.2"), "203.0.113.9");
  assert.equal(resolve("6.6.6.6,203.0.113.9,fd00::3"), "203.0.113.9");
  assert.equal(resolve("2001:db8::9, 10.0.0.3"), "2001:db8::9");
  assert.equal(resolve(null), "10.0.0.1");
  assert.equal(resolve(""), "10.0.0.1");
  // Every hop trusted: the leftmost is as far back as the chain goes.
  assert.equal(resolve("10.0.0.9, 10.0.0.8"), "10.0.0.9");
  // Ports and brackets are stripped; mapped IPv4 is written as IPv4.
  assert.equal(resolve("203.0.113.9:4711"), "203.0.113.9");
  assert.equal(resolve("[2001:db8::9]:443"), "2001:db8::9");
  assert.equal(resolve("::ffff:203.0.113.9"), "203.0.113.9");
  assert.equal(resolve("203.0.113.9", "::ffff:10.0.0.1"), "203.0.113.9");
});

Deno.test("resolveClientAddress: junk in the chain stops the walk at the last trusted hop", () => {
  const isTrusted = createProxyTrust(["10.0.0.0/8"]);
  const resolve = (xff: string) =>
    resolveClientAddress(
      "10.0.0.1",
      new Headers({ "x-forwarded-for": xff }),
      isTrusted,
    );
  assert.equal(resolve("unknown"), "10.0.0.1");
  assert.equal(resolve("203.0.113.9, garbage, 10.0.0.2"), "10.0.0.2");
  assert.equal(resolve("garbage, 203.0.113.9"), "203.0.113.9");
});

Deno.test("resolveClientAddress reads every X-Forwarded-For line", () => {
  const isTrusted = createProxyTrust(["10.0.0.0/8"]);
  const headers = new Headers();
  headers.append("x-forwarded-for", "6.6.6.6");
  headers.append("x-forwarded-for", "203.0.113.9, 10.0.0.2");
  assert.equal(
    resolveClientAddress("10.0.0.1", headers, isTrusted),
    "203.0.113.9",
  );
});
