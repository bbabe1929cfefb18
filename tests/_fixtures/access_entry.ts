import type { AccessLogEntry } from "../../src/observe/access_log.ts";

/** An ordinary access-log entry (GET 200 on route "users"), with overrides. */
export function accessEntry(
  overrides: Partial<AccessLogEntry> = {},
): AccessLogEntry {
  return {
    requestId: "req-1",
    route: "users",
    method: "GET",
    path: "/api/users/1",
    upstream: "http://10.0.0.5:8080/v1",
    status: 200,
    attempts: 1,
    durationMs: 12.5,
    ttfbMs: 10,
    bytesIn: 0,
    bytesOut: 512,
    flags: [],
    clientAddress: "203.0.113.7",
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    ...overrides,
  };
}
