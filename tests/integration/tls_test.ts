/**
 * TLS in the gateway (`GATEWAY_TLS_CERT`/`GATEWAY_TLS_KEY`): the real process
 * serves HTTPS with a self-signed certificate made at test time, speaks HTTP/2
 * to clients that offer only h2, and tells upstreams `X-Forwarded-Proto:
 * https`; half a cert/key pair or an unreadable file stops start-up.
 */
import * as x509 from "@peculiar/x509";
import assert from "node:assert/strict";
import { Origin } from "../_fixtures/origin.ts";
import {
  runGatewayProcessToExit,
  startGatewayProcess,
} from "../_fixtures/gateway_process.ts";
import { routeConfig, startTestGateway } from "../_fixtures/gateway.ts";
import { readSettings } from "../../src/runtime/deno/start_from_env.ts";

/**
 * A self-signed P-256 cert for 127.0.0.1 and localhost, in `dir`: made with
 * WebCrypto and `@peculiar/x509`, so the test needs nothing outside what
 * `deno task test` fetches (no openssl). Not a CA: rustls refuses a CA
 * certificate as a server's own (CaUsedAsEndEntity).
 */
async function selfSignedCert(
  dir: string,
): Promise<{ certPath: string; keyPath: string; certPem: string }> {
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await crypto.subtle.generateKey(algorithm, true, [
    "sign",
    "verify",
  ]);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=localhost",
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.SubjectAlternativeNameExtension([
        { type: "ip", value: "127.0.0.1" },
        { type: "dns", value: "localhost" },
      ]),
    ],
  });
  const pkcs8 = new Uint8Array(
    await crypto.subtle.exportKey("pkcs8", keys.privateKey),
  );
  const base64 = btoa(String.fromCharCode(...pkcs8)).replace(/.{64}/g, "$&\n");
  const certPath = `${dir}/cert.pem`;
  const keyPath = `${dir}/key.pem`;
  const certPem = cert.toString("pem");
  await Deno.writeTextFile(certPath, certPem);
  await Deno.writeTextFile(
    keyPath,
    `-----BEGIN PRIVATE KEY-----\n${base64}\n-----END PRIVATE KEY-----\n`,
  );
  return { certPath, keyPath, certPem };
}

/** A client trusting `certPem` that offers only `protocol` in ALPN. */
function clientSpeaking(
  protocol: "http/1.1" | "h2",
  certPem: string,
): Deno.HttpClient {
  return Deno.createHttpClient({
    caCerts: [certPem],
    http1: protocol === "http/1.1",
    http2: protocol === "h2",
  });
}

function echoConfig(originUrl: string) {
  return {
    routes: [{
      name: "api",
      path: "/api/*",
      upstreams: [`${originUrl}/echo`],
      stripPrefix: "/api",
    }],
  };
}

/** A valid config whose upstream is never called (discard port). */
const UNUSED_CONFIG = echoConfig("http://127.0.0.1:9");

Deno.test("with a cert and key the gateway serves HTTPS and HTTP/2, and forwards proto https", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gateway-tls-" });
  const origin = await Origin.start();
  const { certPath, keyPath, certPem } = await selfSignedCert(dir);
  const gateway = await startGatewayProcess({
    config: echoConfig(origin.url),
    env: { GATEWAY_TLS_CERT: certPath, GATEWAY_TLS_KEY: keyPath },
  });
  const http1 = clientSpeaking("http/1.1", certPem);
  const http2 = clientSpeaking("h2", certPem);
  try {
    const listening = gateway.logs().find((line) => line.msg === "listening");
    assert.equal(listening?.tls, true);
    const baseUrl = `https://127.0.0.1:${gateway.port}`;

    const res = await fetch(`${baseUrl}/api/one`, { client: http1 });
    assert.equal(res.status, 200);
    const echoed = await res.json();
    assert.equal(echoed.path, "/echo/one");
    assert.equal(origin.requests[0].headers.get("x-forwarded-proto"), "https");

    // This client offers only h2 in ALPN: it fails unless the gateway speaks it.
    const res2 = await fetch(`${baseUrl}/api/two`, { client: http2 });
    assert.equal(res2.status, 200);
    assert.equal((await res2.json()).path, "/echo/two");
    assert.equal(origin.requests[1].headers.get("x-forwarded-proto"), "https");

    // Plain HTTP on the TLS port gets no HTTP answer.
    await assert.rejects(
      fetch(`http://127.0.0.1:${gateway.port}/api/three`).then((r) =>
        r.body?.cancel()
      ),
    );
    assert.equal(origin.hits("/echo/three"), 0);
  } finally {
    http1.close();
    http2.close();
    await gateway.stop();
    await origin.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without TLS settings the listening line says tls false", async () => {
  await using gateway = await startTestGateway(UNUSED_CONFIG);
  const listening = gateway.logs.find((line) => line.msg === "listening");
  assert.equal(listening?.tls, false);
});

Deno.test("a cert without a key stops start-up with exit code 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gateway-tls-" });
  try {
    const { certPath } = await selfSignedCert(dir);
    const { status, output } = await runGatewayProcessToExit({
      config: UNUSED_CONFIG,
      env: { GATEWAY_TLS_CERT: certPath },
    });
    assert.equal(status.code, 1, output);
    assert.match(output, /cannot start, the configuration is invalid/);
    assert.match(
      output,
      /^ {2}GATEWAY_TLS_KEY: required with GATEWAY_TLS_CERT$/m,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readSettings: half a pair, an unreadable or a non-PEM file is listed; neither is plain HTTP", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gateway-tls-" });
  try {
    const configPath = `${dir}/gateway.json`;
    await Deno.writeTextFile(configPath, JSON.stringify(UNUSED_CONFIG));
    const { certPath, keyPath } = await selfSignedCert(dir);
    const settings = (vars: Record<string, string>) =>
      readSettings((name) => ({ GATEWAY_CONFIG: configPath, ...vars })[name]);

    const plain = await settings({});
    assert.ok(plain.ok);
    assert.equal(plain.settings.tls, null);

    const both = await settings({
      GATEWAY_TLS_CERT: certPath,
      GATEWAY_TLS_KEY: keyPath,
    });
    assert.ok(both.ok);
    assert.match(both.settings.tls?.cert ?? "", /BEGIN CERTIFICATE/);
    assert.match(both.settings.tls?.key ?? "", /BEGIN PRIVATE KEY/);

    assert.deepEqual(await settings({ GATEWAY_TLS_KEY: keyPath }), {
      ok: false,
      errors: ["GATEWAY_TLS_CERT: required with GATEWAY_TLS_KEY"],
    });

    const missing = `${dir}/missing.pem`;
    const unreadable = await settings({
      GATEWAY_TLS_CERT: missing,
      GATEWAY_TLS_KEY: keyPath,
    });
    assert.equal(unreadable.ok, false);
    assert.ok(!unreadable.ok);
    assert.equal(unreadable.errors.length, 1);
    assert.match(
      unreadable.errors[0],
      new RegExp(`^GATEWAY_TLS_CERT: cannot read ${missing}: .+`),
    );

    // The key where the cert belongs, and the other way round.
    assert.deepEqual(
      await settings({ GATEWAY_TLS_CERT: keyPath, GATEWAY_TLS_KEY: certPath }),
      {
        ok: false,
        errors: [
          `GATEWAY_TLS_CERT: ${keyPath} holds no PEM certificate`,
          `GATEWAY_TLS_KEY: ${certPath} holds no PEM private key`,
        ],
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an HTTP/2 client leaving mid-stream leaves the process serving (Deno rejects info.completed then)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gateway-tls-" });
  await using origin = await Origin.start();
  const { certPath, keyPath, certPem } = await selfSignedCert(dir);
  const gateway = await startGatewayProcess({
    config: routeConfig([origin.url]),
    env: { GATEWAY_TLS_CERT: certPath, GATEWAY_TLS_KEY: keyPath },
  });
  const http2 = clientSpeaking("h2", certPem);
  try {
    const baseUrl = `https://127.0.0.1:${gateway.port}`;
    const leaving = new AbortController();
    const res = await fetch(`${baseUrl}/api/stream?chunks=1000&interval=20`, {
      client: http2,
      signal: leaving.signal,
    });
    const reader = res.body!.getReader();
    assert.equal((await reader.read()).done, false);
    leaving.abort();
    await reader.read().catch(() => {});
    assert.equal(await origin.nextCancel(), "/stream");
    const line = await gateway.waitForLog((l) => l.msg === "access");
    assert.match(String(line.flags), /CD/);
    // Still serving: the rejected promise took nothing down.
    const next = await fetch(`${baseUrl}/api/echo`, { client: http2 });
    assert.equal(next.status, 200);
    await next.body?.cancel();
  } finally {
    http2.close();
    assert.equal((await gateway.stop()).code, 0);
    await Deno.remove(dir, { recursive: true });
  }
});
