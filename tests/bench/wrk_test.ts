import assert from "node:assert/strict";
import { parseWrkOutput } from "./wrk.ts";

const WRK_OUTPUT = `Running 10s test @ http://127.0.0.1:40000/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.28ms    1.02ms  20.00ms   90.00%
    Req/Sec     9.50k   300.00    10.00k    70.00%
  Latency Distribution
     50%  812.00us
     75%    5.50ms
     90%    6.00ms
     99%    1.20s
  94500 requests in 10.00s, 110.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec:   9450.25
Transfer/sec:     11.00MB
`;

Deno.test("parseWrkOutput reads req/s, percentiles in any unit and every error", () => {
  assert.deepEqual(parseWrkOutput(WRK_OUTPUT), {
    requestsPerSecond: 9450.25,
    p50Ms: 0.812,
    p99Ms: 1200,
    errors: 8,
    requests: 94500,
  });
});

Deno.test("parseWrkOutput refuses output without a latency distribution", () => {
  assert.throws(
    () => parseWrkOutput("Requests/sec:   9450.25\n"),
    /lacks req\/s or latency/,
  );
});
