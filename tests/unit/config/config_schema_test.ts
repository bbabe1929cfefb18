import assert from "node:assert/strict";
import { configSchema } from "../../../src/config/config_schema.ts";
import type { JsonSchema } from "../../../src/config/checks.ts";
import { POLICY_SPEC } from "../../../src/config/policy_spec.ts";
import type { Spec } from "../../../src/config/checks.ts";
import { validateConfig } from "../../../src/config/validate_config.ts";

const root = new URL("../../../", import.meta.url);

Deno.test("config schema: the committed gateway.schema.json is the one the validator's specs generate", async () => {
  const committed = JSON.parse(
    await Deno.readTextFile(new URL("gateway.schema.json", root)),
  );
  assert.deepEqual(
    committed,
    configSchema(),
    "gateway.schema.json is stale: run `deno task schema`",
  );
});

Deno.test("config schema: the shipped gateway.json names it and is valid", async () => {
  const text = await Deno.readTextFile(new URL("gateway.json", root));
  const config = JSON.parse(text);
  assert.equal(config.$schema, "./gateway.schema.json");
  assert.deepEqual(
    schemaErrors(configSchema(), config, "", configSchema()),
    [],
  );
});

/**
 * A small evaluator for the keywords the generated schema uses; enough to
 * compare the schema's verdict with the validator's.
 */
function schemaErrors(
  schema: JsonSchema,
  value: unknown,
  path: string,
  top: JsonSchema,
): string[] {
  if (typeof schema.$ref === "string") {
    const name = schema.$ref.replace("#/$defs/", "");
    return schemaErrors(
      (top.$defs as Record<string, JsonSchema>)[name],
      value,
      path,
      top,
    );
  }
  if (Array.isArray(schema.anyOf)) {
    const ok = (schema.anyOf as JsonSchema[]).some((s) =>
      schemaErrors(s, value, path, top).length === 0
    );
    return ok ? [] : [`${path}: matches no alternative`];
  }
  if (Array.isArray(schema.enum)) {
    return schema.enum.includes(value) ? [] : [`${path}: not in enum`];
  }
  const errors: string[] = [];
  const type = schema.type;
  const isType = type === undefined ||
    (type === "integer" && Number.isInteger(value)) ||
    (type === "number" && typeof value === "number" &&
      Number.isFinite(value)) ||
    (type === "string" && typeof value === "string") ||
    (type === "boolean" && typeof value === "boolean") ||
    (type === "null" && value === null) ||
    (type === "array" && Array.isArray(value)) ||
    (type === "object" && typeof value === "object" && value !== null &&
      !Array.isArray(value));
  if (!isType) return [`${path}: not ${type}`];
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) {
      errors.push(`${path}: below minimum`);
    }
    if (
      typeof schema.exclusiveMinimum === "number" &&
      value <= schema.exclusiveMinimum
    ) errors.push(`${path}: not above exclusiveMinimum`);
    if (typeof schema.maximum === "number" && value > schema.maximum) {
      errors.push(`${path}: above maximum`);
    }
  }
  if (typeof value === "string") {
    if (
      typeof schema.minLength === "number" && value.length < schema.minLength
    ) {
      errors.push(`${path}: too short`);
    }
    if (
      typeof schema.pattern === "string" &&
      !new RegExp(schema.pattern, "u").test(value)
    ) errors.push(`${path}: does not match pattern`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === "number" && value.length < schema.minItems) {
      errors.push(`${path}: too few items`);
    }
    if (schema.items !== undefined) {
      value.forEach((item, i) =>
        errors.push(
          ...schemaErrors(
            schema.items as JsonSchema,
            item,
            `${path}[${i}]`,
            top,
          ),
        )
      );
    }
  }
  if (isObject(value)) {
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    for (const key of (schema.required ?? []) as string[]) {
      if (!(key in value)) errors.push(`${path}.${key}: required`);
    }
    for (const [key, item] of Object.entries(value)) {
      const at = path === "" ? key : `${path}.${key}`;
      if (key in properties) {
        errors.push(...schemaErrors(properties[key], item, at, top));
      } else if (schema.additionalProperties === false) {
        errors.push(`${at}: unknown`);
      } else if (isObject(schema.additionalProperties)) {
        errors.push(
          ...schemaErrors(schema.additionalProperties, item, at, top),
        );
      }
    }
  }
  return errors;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Values at and around a leaf schema's edges, and of the wrong type. */
function probes(schema: JsonSchema): unknown[] {
  const values: unknown[] = [null, "text", true, [], {}, 1.5, -1, 0, 1];
  for (const key of ["minimum", "maximum", "exclusiveMinimum"]) {
    const edge = schema[key];
    if (typeof edge === "number") values.push(edge - 1, edge, edge + 1);
  }
  if (Array.isArray(schema.enum)) values.push(...schema.enum);
  for (const alternative of (schema.anyOf ?? []) as JsonSchema[]) {
    values.push(...probes(alternative));
  }
  if (schema.type === "array" && isObject(schema.items)) {
    values.push(...probes(schema.items).map((item) => [item]));
  }
  return values;
}

/** Every leaf of a spec with its dotted path. */
function leaves(spec: Spec, path: string): [string, Spec | unknown][] {
  return Object.entries(spec).flatMap(([key, rule]) => {
    const at = path === "" ? key : `${path}.${key}`;
    return typeof rule === "function" ? [[at, rule]] : leaves(rule, at);
  });
}

Deno.test("config schema: for every policy field the schema and the validator agree at the edges", () => {
  const top = configSchema();
  const policy = (top.$defs as Record<string, JsonSchema>).policy;
  let compared = 0;
  for (const [field] of leaves(POLICY_SPEC, "")) {
    let leaf = policy;
    for (const key of field.split(".")) {
      leaf = (leaf.properties as Record<string, JsonSchema>)[key];
      if (Array.isArray(leaf.anyOf)) {
        leaf = (leaf.anyOf as JsonSchema[]).find((s) => s.type === "object") ??
          leaf;
      }
    }
    for (const value of probes(leaf)) {
      const schemaSays = schemaErrors(leaf, value, field, top).length === 0;
      const result = validateConfig({
        routes: [{
          name: "r",
          path: "/r/*",
          upstreams: ["http://127.0.0.1:9"],
          policy: nest(field, value),
        }],
      }, () => undefined);
      // Only the field's own verdict: a comparison with another field
      // (totalMs >= headersMs, healthCheck timeoutMs < intervalMs) is beyond JSON Schema.
      const at = `routes[0].policy.${field}`;
      const validatorSays = result.ok ||
        !result.errors.some((e) =>
          (e.startsWith(`${at}:`) || e.startsWith(`${at}[`)) &&
          !/: must be [<>]=? \w+\.\w+ \(/.test(e)
        );
      assert.equal(
        schemaSays,
        validatorSays,
        `${field} = ${JSON.stringify(value)}: schema ${
          schemaSays ? "accepts" : "rejects"
        }, validator ${validatorSays ? "accepts" : "rejects"}`,
      );
      compared++;
    }
  }
  assert.ok(compared > 200, `only ${compared} comparisons`);
});

function nest(path: string, value: unknown): Record<string, unknown> {
  return path.split(".").reduceRight<Record<string, unknown>>(
    (inner, key) => ({ [key]: inner }),
    value as Record<string, unknown>,
  );
}
