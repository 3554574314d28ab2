/**
 * The one fingerprint format of certim, for the CA root, a buddy's identity and single certificates alike.
 *
 * - Text for people (every CLI line, every error message, the server's log on a terminal) shows a fingerprint as
 *   {@link formatFingerprint} does: uppercase hex in groups of four, separated by single spaces
 *   (`3F2A 9C01 ...`), short enough to read aloud and compare group by group.
 * - Machine fields (`--json` output, the `--json` ready line of `certim server`, JSON log lines, profile files)
 *   carry plain lowercase hex without separators, as {@link parseFingerprint} returns it.
 * - Every input (`--ca-fingerprint`, `certim trust verify`, `/verify` in chat) accepts either form, and also
 *   openssl's colon-separated pairs, in any case: {@link parseFingerprint} drops spaces and colons.
 */

/** Hex digits of a SHA-256 fingerprint. */
export const SHA256_FINGERPRINT_HEX_LENGTH = 64;

/**
 * Formats a hex fingerprint for people: uppercase, in groups of four separated by spaces. Accepts any form
 * {@link parseFingerprint} accepts; a value that is not hex (a placeholder such as "(unreadable certificates)")
 * is returned unchanged.
 */
export function formatFingerprint(fingerprint: string): string {
  const hex = parseFingerprint(fingerprint);
  if (!/^[0-9a-f]+$/.test(hex)) return fingerprint;
  return hex.replace(/(.{4})(?=.)/g, '$1 ').toUpperCase();
}

/**
 * Normalizes a fingerprint however typed (the grouped display form, openssl's `AB:CD:...`, plain hex; any case,
 * spaces, tabs and colons) to the machine form: lowercase hex without separators.
 */
export function parseFingerprint(s: string): string {
  return s.replace(/[\s:]/g, '').toLowerCase();
}

/** True when `s`, however typed, is a SHA-256 fingerprint (64 hex digits once {@link parseFingerprint}ed). */
export function isSha256Fingerprint(s: string): boolean {
  return new RegExp(`^[0-9a-f]{${SHA256_FINGERPRINT_HEX_LENGTH}}$`).test(parseFingerprint(s));
}
