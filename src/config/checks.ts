/**
 * Small building blocks for the config validator: each check reports what is
 * wrong at a path and tells the caller whether the value is usable, so the
 * validator can keep going and report every problem, not the first.
 */

/** Collects `path: message` lines. */
export class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    this.list.push(`${path}: ${message}`);
  }
}

/** A JSON Schema (draft 2020-12) object, as written in gateway.schema.json. */
export type JsonSchema = Record<string, unknown>;

/**
 * A leaf check: validates `value` found at `path`. Its `schema` says the
 * same in JSON Schema, for editors (see config_schema.ts).
 */
export type Check =
  & ((value: unknown, path: string, problems: Problems) => void)
  & { readonly schema?: JsonSchema };

/** `check`, carrying the JSON Schema that accepts what it accepts. */
export function withSchema(
  check: (value: unknown, path: string, problems: Problems) => void,
  schema: JsonSchema,
): Check {
  return Object.assign(check, { schema });
}

/**
 * The JSON Schema of a spec: an object with exactly the spec's keys. Throws,
 * naming the path, when a check has no schema.
 */
export function specSchema(spec: Spec, path: string): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [key, rule] of Object.entries(spec)) {
    const at = join(path, key);
    if (typeof rule !== "function") {
      properties[key] = specSchema(rule, at);
    } else if (rule.schema !== undefined) {
      properties[key] = rule.schema;
    } else {
      throw new Error(`${at}: its check has no JSON Schema (use withSchema)`);
    }
  }
  return { type: "object", additionalProperties: false, properties };
}

/** A nested spec: a check per known key, or a nested spec for an object. */
export interface Spec {
  [key: string]: Check | Spec;
}

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value).slice(0, 60);
  if (typeof value === "object") return "an object";
  return String(value);
}

export function isPlainObject(
  value: unknown,
): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Checks `value` is an object with only the `allowed` keys. */
export function checkObject(
  value: unknown,
  path: string,
  problems: Problems,
  allowed: readonly string[],
): value is Record<string, unknown> {
  if (!isPlainObject(value)) {
    problems.add(path, `must be an object, got ${describe(value)}`);
    return false;
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      problems.add(
        join(path, key),
        `unknown field (expected one of: ${allowed.join(", ")})`,
      );
    }
  }
  return true;
}

/** Validates a partial object against a nested spec (present keys only). */
export function checkSpec(
  value: unknown,
  path: string,
  problems: Problems,
  spec: Spec,
): void {
  if (!checkObject(value, path, problems, Object.keys(spec))) return;
  for (const [key, rule] of Object.entries(spec)) {
    if (!(key in value)) continue;
    const child = value[key];
    if (typeof rule === "function") rule(child, join(path, key), problems);
    else checkSpec(child, join(path, key), problems, rule);
  }
}

export function join(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return path === "" ? key : `${path}.${key}`;
}

/** An integer in [min, max]. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): Check {
  const schema: JsonSchema = { type: "integer", minimum: min };
  if (max !== Number.MAX_SAFE_INTEGER) schema.maximum = max;
  return withSchema((value, path, problems) => {
    if (
      typeof value !== "number" || !Number.isInteger(value) || value < min ||
      value > max
    ) {
      const range = max === Number.MAX_SAFE_INTEGER
        ? `>= ${min}`
        : `from ${min} to ${max}`;
      problems.add(
        path,
        `must be an integer ${range}, got ${describe(value)}`,
      );
    }
  }, schema);
}

/** A finite number in [min, max]; `exclusiveMin` excludes `min`. */
export function number(min: number, max: number, exclusiveMin = false): Check {
  const schema: JsonSchema = exclusiveMin
    ? { type: "number", exclusiveMinimum: min, maximum: max }
    : { type: "number", minimum: min, maximum: max };
  return withSchema((value, path, problems) => {
    if (
      typeof value !== "number" || !Number.isFinite(value) ||
      (exclusiveMin ? value <= min : value < min) || value > max
    ) {
      const low = exclusiveMin ? `> ${min}` : `>= ${min}`;
      problems.add(
        path,
        `must be a number ${low} and <= ${max}, got ${describe(value)}`,
      );
    }
  }, schema);
}

export function nullable(check: Check): Check {
  return withSchema((value, path, problems) => {
    if (value !== null) check(value, path, problems);
  }, { anyOf: [check.schema, { type: "null" }] });
}

export function oneOf(...allowed: readonly string[]): Check {
  return withSchema((value, path, problems) => {
    if (typeof value !== "string" || !allowed.includes(value)) {
      problems.add(
        path,
        `must be one of ${
          allowed.map((a) => JSON.stringify(a)).join(", ")
        }, got ${describe(value)}`,
      );
    }
  }, { enum: [...allowed] });
}

export const boolean: Check = withSchema((value, path, problems) => {
  if (typeof value !== "boolean") {
    problems.add(path, `must be true or false, got ${describe(value)}`);
  }
}, { type: "boolean" });

export const nonEmptyString: Check = withSchema((value, path, problems) => {
  if (typeof value !== "string" || value.length === 0) {
    problems.add(path, `must be a non-empty string, got ${describe(value)}`);
  }
}, { type: "string", minLength: 1 });

/** An array whose every item passes `item`; `minItems` at least. */
export function arrayOf(item: Check, minItems = 0): Check {
  const schema: JsonSchema = { type: "array", items: item.schema };
  if (minItems > 0) schema.minItems = minItems;
  return withSchema((value, path, problems) => {
    if (!Array.isArray(value)) {
      problems.add(path, `must be an array, got ${describe(value)}`);
      return;
    }
    if (value.length < minItems) {
      problems.add(path, `must have at least ${minItems} item(s)`);
    }
    value.forEach((v, i) => item(v, join(path, i), problems));
  }, schema);
}

/** An HTTP token as RFC 9110 defines it (method names, header names). */
export const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const token: Check = withSchema((value, path, problems) => {
  if (typeof value !== "string" || !TOKEN.test(value)) {
    problems.add(path, `must be an HTTP token, got ${describe(value)}`);
  }
}, { type: "string", pattern: TOKEN.source });
