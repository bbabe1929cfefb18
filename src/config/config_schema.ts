/**
 * The JSON Schema of gateway.json, for editors (`"$schema"` in the config):
 * generated from the validator's own specs, so the two cannot drift. Leaf
 * checks carry their schema (see `withSchema` in checks.ts); the top level
 * and the route are typed against the validator's key lists, so a new key
 * does not type-check until its schema is written here.
 *
 * @module
 */

import {
  arrayOf,
  boolean,
  integer,
  type JsonSchema,
  nonEmptyString,
  specSchema,
  token,
} from "./checks.ts";
import { JWT_SPEC, NULLABLE_SECTIONS, POLICY_SPEC } from "./policy_spec.ts";
import {
  LOG_SPEC,
  type ROUTE_KEYS,
  ROUTE_NAME,
  type TOP_LEVEL,
} from "./validate_config.ts";
import { VIA_PSEUDONYM } from "../http/via.ts";

const HTTP_URL: JsonSchema = {
  type: "string",
  format: "uri",
  pattern: "^[Hh][Tt][Tt][Pp][Ss]?://",
};

const PATH: JsonSchema = { type: "string", pattern: "^/" };

function policySchema(): JsonSchema {
  const schema = specSchema(POLICY_SPEC, "policy");
  const properties = schema.properties as Record<string, JsonSchema>;
  for (const section of NULLABLE_SECTIONS) {
    // `null` switches an inherited feature off.
    properties[section] = { anyOf: [properties[section], { type: "null" }] };
  }
  return schema;
}

function routeProperties(): Record<(typeof ROUTE_KEYS)[number], JsonSchema> {
  return {
    name: {
      type: "string",
      pattern: ROUTE_NAME.source,
      description: "Unique; the route's label in logs and metrics.",
    },
    path: {
      ...PATH,
      description:
        'A Hono pattern such as "/api/users/*"; /_gateway/ is reserved.',
    },
    methods: {
      type: "array",
      items: token.schema,
      minItems: 1,
      description: "Allowed methods; others get 405. Default: all.",
    },
    upstreams: {
      type: "array",
      items: {
        anyOf: [HTTP_URL, {
          type: "object",
          additionalProperties: false,
          required: ["url"],
          properties: {
            url: HTTP_URL,
            weight: integer(1, 100).schema,
            backup: boolean.schema,
          },
        }],
      },
      minItems: 1,
      description:
        "Absolute http(s) URLs, or {url, weight, backup}, each with an optional base path.",
    },
    stripPrefix: {
      ...PATH,
      description:
        "Removed from the request path before the upstream's base path is put in front.",
    },
    auth: {
      type: "object",
      additionalProperties: false,
      properties: {
        apiKeys: arrayOf(nonEmptyString, 1).schema,
        apiKeysEnv: { type: "string", minLength: 1 },
        jwt: { ...specSchema(JWT_SPEC, "jwt"), required: ["algorithms"] },
      },
    },
    policy: { $ref: "#/$defs/policy" },
  };
}

function topProperties(): Record<(typeof TOP_LEVEL)[number], JsonSchema> {
  return {
    $schema: { type: "string" },
    admin: {
      type: "object",
      additionalProperties: false,
      properties: {
        token: { type: "string", minLength: 16 },
        tokenEnv: { type: "string", minLength: 1 },
      },
      description:
        "Admin endpoints exist only with a token (at least 16 characters).",
    },
    metrics: {
      type: "object",
      additionalProperties: false,
      properties: {
        token: { type: "string", minLength: 16 },
        tokenEnv: { type: "string", minLength: 1 },
        public: { enum: [true] },
      },
      description:
        "Who may scrape /_gateway/metrics: a token, or public: true; default the admin token.",
    },
    trustedProxies: {
      type: "array",
      items: { type: "string" },
      description:
        'Addresses or CIDRs ("10.0.0.0/8") whose X-Forwarded-* are believed.',
    },
    log: specSchema(LOG_SPEC, "log"),
    serverTiming: { type: "boolean" },
    via: {
      type: "string",
      pattern: VIA_PSEUDONYM.source,
      description:
        "This gateway's pseudonym in Via; a request already carrying it gets 508 loop_detected.",
    },
    defaults: { $ref: "#/$defs/policy" },
    routes: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name", "path", "upstreams"],
        properties: routeProperties(),
      },
    },
  };
}

/**
 * The JSON Schema (draft 2020-12) of gateway.json. Throws, naming the path,
 * when a check in the validator's specs has no schema.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { configSchema } from "./config_schema.ts";
 * const schema = configSchema();
 * assert.deepEqual(schema.required, ["routes"]);
 * const policy = JSON.stringify(schema.$defs);
 * assert.ok(policy.includes('"retries":{"type":"integer","minimum":0,"maximum":10}'));
 * ```
 */
export function configSchema(): JsonSchema {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "Edge gateway config (gateway.json)",
    type: "object",
    additionalProperties: false,
    required: ["routes"],
    properties: topProperties(),
    $defs: { policy: policySchema() },
  };
}
