import {
  arrayOf,
  boolean,
  type Check,
  checkSpec,
  describe,
  integer,
  isPlainObject,
  nonEmptyString,
  nullable,
  number,
  oneOf,
  type Spec,
  specSchema,
  token,
  withSchema,
} from "./checks.ts";

const MAX_TIMER_MS = 2_147_483_647;

const retryCondition: Check = withSchema((value, path, problems) => {
  const ok = value === "network" || value === "timeout" ||
    (typeof value === "number" && Number.isInteger(value) && value >= 100 &&
      value <= 599);
  if (!ok) {
    problems.add(
      path,
      `must be "network", "timeout" or a status code 100-599, got ${
        describe(value)
      }`,
    );
  }
}, {
  anyOf: [
    { enum: ["network", "timeout"] },
    { type: "integer", minimum: 100, maximum: 599 },
  ],
});

const origin: Check = withSchema((value, path, problems) => {
  if (value === "*") return;
  if (typeof value !== "string") {
    problems.add(path, `must be "*" or an origin, got ${describe(value)}`);
    return;
  }
  try {
    if (new URL(value).origin !== value) throw new Error();
  } catch {
    problems.add(
      path,
      `must be "*" or an origin like "https://app.example.com", got ${
        describe(value)
      }`,
    );
  }
}, {
  type: "string",
  pattern: "^(\\*|[a-z][a-z0-9+.-]*://[^/?#\\s]+)$",
  description: '"*" or an origin such as "https://app.example.com"',
});

const healthCheckPath: Check = withSchema((value, path, problems) => {
  if (
    typeof value !== "string" || !value.startsWith("/") || /[?#\s]/.test(value)
  ) {
    problems.add(
      path,
      `must be a path starting with "/" without query, got ${describe(value)}`,
    );
  }
}, { type: "string", pattern: "^/[^?#\\s]*$" });

/** `false` (off) or an object checked against `spec`. */
function falseOr(spec: Spec, name: string): Check {
  return withSchema((value, path, problems) => {
    if (value === false) return;
    if (!isPlainObject(value)) {
      problems.add(path, `must be false or an object, got ${describe(value)}`);
      return;
    }
    checkSpec(value, path, problems, spec);
  }, { anyOf: [{ enum: [false] }, specSchema(spec, name)] });
}

const WEBSOCKET_SPEC: Spec = {
  maxMessageBytes: integer(1, 64 * 1024 * 1024),
  idleMs: integer(1, MAX_TIMER_MS),
};

const COMPRESSION_SPEC: Spec = {
  encodings: withSchema((value, path, problems) => {
    arrayOf(oneOf("br", "gzip"), 1)(value, path, problems);
    if (Array.isArray(value) && new Set(value).size !== value.length) {
      problems.add(path, "must not name an encoding twice");
    }
  }, { ...arrayOf(oneOf("br", "gzip"), 1).schema, uniqueItems: true }),
  minBytes: integer(0),
};

/**
 * Every policy key a user may write, in `defaults` or a route's `policy`.
 * Partial objects are allowed; the merge fills in the rest.
 */
export const POLICY_SPEC: Spec = {
  // Timers take at most 2^31-1 ms; a longer one fires at once.
  timeouts: {
    headersMs: integer(1, MAX_TIMER_MS),
    idleMs: integer(1, MAX_TIMER_MS),
    clientIdleMs: integer(1, MAX_TIMER_MS),
    totalMs: integer(1, MAX_TIMER_MS),
    firstByteMs: nullable(integer(1, MAX_TIMER_MS)),
    minBytesPerSecond: nullable(integer(1)),
  },
  retry: {
    retries: integer(0, 10),
    baseMs: integer(0),
    maxMs: integer(0),
    on: arrayOf(retryCondition),
    retryAfterCapMs: integer(0),
    budget: {
      ratio: number(0, 100),
      minPerSecond: number(0, 1_000_000),
    },
    replayBufferBytes: integer(0, 64 * 1024 * 1024),
  },
  breaker: {
    window: oneOf("count", "time"),
    size: integer(1, 10_000),
    minCalls: integer(1),
    failureRate: number(0, 1, true),
    slowCallMs: nullable(integer(1)),
    slowCallRate: number(0, 1, true),
    openMs: integer(1, MAX_TIMER_MS),
    halfOpenProbes: integer(1, 1000),
    consecutiveFailures: integer(1, 10_000),
    maxOpenMs: integer(1, MAX_TIMER_MS),
  },
  bulkhead: { maxConcurrent: nullable(integer(1)) },
  maxBodyBytes: nullable(integer(0)),
  cors: {
    origins: arrayOf(origin, 1),
    methods: arrayOf(token),
    headers: arrayOf(token),
    exposeHeaders: arrayOf(token),
    credentials: boolean,
    maxAgeSeconds: integer(0, 86_400),
  },
  rateLimit: {
    requests: integer(1),
    windowSeconds: integer(1, 86_400),
    scope: oneOf("instance", "fleet"),
  },
  balance: oneOf("p2c", "round_robin", "failover"),
  healthCheck: {
    path: healthCheckPath,
    intervalMs: integer(100, MAX_TIMER_MS),
    timeoutMs: integer(1, MAX_TIMER_MS),
    unhealthyThreshold: integer(1, 100),
    healthyThreshold: integer(1, 100),
  },
  sse: { heartbeatMs: nullable(integer(1, MAX_TIMER_MS)) },
  compression: falseOr(COMPRESSION_SPEC, "compression"),
  websocket: falseOr(WEBSOCKET_SPEC, "websocket"),
};

/** Keys whose value may be `null` to turn a feature off (not validated as objects then). */
export const NULLABLE_SECTIONS = ["cors", "rateLimit", "healthCheck"] as const;

export const JWT_SPEC: Spec = {
  algorithms: arrayOf(oneOf("HS256", "RS256", "ES256"), 1),
  secret: nonEmptyString,
  secretEnv: nonEmptyString,
  jwks: withSchema((value, path, problems) => {
    if (
      typeof value !== "object" || value === null ||
      !Array.isArray((value as { keys?: unknown }).keys)
    ) {
      problems.add(path, `must be a JWKS object {"keys": [...]}`);
    }
  }, {
    type: "object",
    required: ["keys"],
    properties: { keys: { type: "array" } },
  }),
  jwksUrl: withSchema((value, path, problems) => {
    try {
      const url = new URL(String(value));
      if (url.protocol !== "https:" && url.protocol !== "http:") {
        throw new Error();
      }
    } catch {
      problems.add(path, `must be an http(s) URL, got ${describe(value)}`);
    }
  }, { type: "string", format: "uri", pattern: "^[Hh][Tt][Tt][Pp][Ss]?:" }),
  issuer: nonEmptyString,
  audience: nonEmptyString,
  leewaySeconds: integer(0, 3600),
  forwardClaims: withSchema((value, path, problems) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      problems.add(path, "must be an object of claim name → header name");
      return;
    }
    for (const [claim, header] of Object.entries(value)) {
      token(header, `${path}.${claim}`, problems);
    }
  }, { type: "object", additionalProperties: token.schema }),
};
