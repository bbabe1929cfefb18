/**
 * `deno task schema`: writes gateway.schema.json from the validator's specs
 * (src/config/config_schema.ts). tests/unit/config/config_schema_test.ts
 * fails while the committed file differs from what this writes.
 *
 * @module
 */
import { configSchema } from "../src/config/config_schema.ts";

const target = new URL("../gateway.schema.json", import.meta.url);
await Deno.writeTextFile(
  target,
  JSON.stringify(configSchema(), null, 2) + "\n",
);
console.log(`wrote ${target.pathname}`);
