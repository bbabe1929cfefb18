import assert from "node:assert/strict";
import denoJson from "../../deno.json" with { type: "json" };
import { VERSION } from "../../src/version.ts";

const root = new URL("../../", import.meta.url);
const read = (path: string) => Deno.readTextFile(new URL(path, root));

Deno.test("version: deno.json, src/version.ts and the changelog name the same semver", async () => {
  assert.match(denoJson.version, /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
  assert.equal(VERSION, denoJson.version);
  assert.match(
    await read("CHANGELOG.md"),
    new RegExp(`^## \\[${VERSION}\\]`, "m"),
  );
});

Deno.test("version: the image tag in the deploy material and the README is the version", async () => {
  const tagged = `edge-gateway:${VERSION}`;
  assert.match(
    await read("deploy/k8s/deployment.yaml"),
    new RegExp(`image: ${tagged}$`, "m"),
  );
  const dockerfile = await read("deploy/docker/Dockerfile");
  assert.ok(dockerfile.includes(`-t ${tagged} .`));
  assert.ok(
    dockerfile.includes(`org.opencontainers.image.version="${VERSION}"`),
  );
  assert.ok((await read("docs/deploying.md")).includes(`-t ${tagged} .`));
  const readme = await read("README.md");
  assert.ok(readme.includes(`version **${VERSION}**`));
  assert.ok(readme.includes(tagged));
});
