import type { Encoding } from "../config/types.ts";

/**
 * The coding to send a client, from its `Accept-Encoding` (RFC 9110
 * §12.5.3): the offered coding with the highest q-value above 0, `*`
 * standing for any coding the header does not name; ties go to the first in
 * `offered` (the gateway's preference). `null`: none is acceptable (or no
 * header), so the body goes as it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { negotiateEncoding } from "./accept_encoding.ts";
 *
 * assert.equal(negotiateEncoding("gzip, deflate, br", ["br", "gzip"]), "br");
 * assert.equal(negotiateEncoding("br;q=0.5, gzip", ["br", "gzip"]), "gzip");
 * assert.equal(negotiateEncoding("*;q=0, identity", ["br", "gzip"]), null);
 * ```
 */
export function negotiateEncoding(
  acceptEncoding: string | null,
  offered: readonly Encoding[],
): Encoding | null {
  if (acceptEncoding === null || acceptEncoding === "") return null;
  let best: Encoding | null = null;
  let bestQ = 0;
  let starQ = -1;
  const named: Partial<Record<Encoding, number>> = {};
  for (const item of acceptEncoding.split(",")) {
    const semi = item.indexOf(";");
    const name = (semi === -1 ? item : item.slice(0, semi)).trim()
      .toLowerCase();
    const q = semi === -1 ? 1 : qValue(item.slice(semi + 1));
    if (name === "*") starQ = q;
    else if (name === "gzip" || name === "x-gzip") {
      named.gzip = Math.max(named.gzip ?? 0, q);
    } else if (name === "br") named.br = q;
  }
  for (const encoding of offered) {
    const q = named[encoding] ?? (starQ >= 0 ? starQ : 0);
    if (q > bestQ) {
      best = encoding;
      bestQ = q;
    }
  }
  return best;
}

/** The `q` parameter of one list item's parameters; 1 without one, 0 when malformed. */
function qValue(params: string): number {
  for (const param of params.split(";")) {
    const eq = param.indexOf("=");
    if (eq === -1 || param.slice(0, eq).trim().toLowerCase() !== "q") continue;
    const q = Number(param.slice(eq + 1).trim());
    return Number.isFinite(q) && q >= 0 && q <= 1 ? q : 0;
  }
  return 1;
}
