/**
 * Encodes bytes as unpadded base64url, to build test tokens and keys (the
 * gateway itself only decodes: src/auth/base64url.ts).
 */
export function encodeBase64Url(bytes: Uint8Array | string): string {
  const raw = typeof bytes === "string"
    ? new TextEncoder().encode(bytes)
    : bytes;
  let binary = "";
  for (const byte of raw) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}
