import { join, nonEmptyString, type Problems } from "./checks.ts";
import type { EnvLookup } from "./validate_config.ts";

/** Reads `field` or the environment variable named by `envField`: exactly one. */
export function readSecret(
  value: Record<string, unknown>,
  path: string,
  field: string,
  envField: string,
  env: EnvLookup,
  problems: Problems,
): string | null {
  const hasValue = field in value, hasEnv = envField in value;
  if (hasValue && hasEnv) {
    problems.add(path, `give either ${field} or ${envField}, not both`);
    return null;
  }
  if (hasValue) {
    nonEmptyString(value[field], join(path, field), problems);
    return typeof value[field] === "string" ? value[field] as string : null;
  }
  if (hasEnv) {
    const name = value[envField];
    if (typeof name !== "string" || name === "") {
      problems.add(join(path, envField), "must name an environment variable");
      return null;
    }
    const secret = env(name);
    if (secret === undefined || secret === "") {
      problems.add(
        join(path, envField),
        `environment variable ${name} is not set`,
      );
      return null;
    }
    return secret;
  }
  problems.add(path, `needs ${field} or ${envField}`);
  return null;
}
