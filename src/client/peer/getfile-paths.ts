/**
 * Path rules of Get File (docs/protocol.md §15.2), used on both ends: the owner checks every requested path before
 * touching the file system, and the requester checks every name an owner lists before creating anything locally
 * (a hostile owner must not write outside the download folder either).
 *
 * A path is a list of segments (the OFT2 name field joins them with 0x01). A segment is refused when it is empty,
 * `.` or `..`, holds a path separator (`/`, `\`), a NUL or another control character, one of `<>:"|?*` (a drive
 * colon among them), ends in a dot or a space, or is a Windows device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with
 * or without an extension) — the rules `oft-names.ts` applies to offered file names, so a folder that can be sent
 * can be shared.
 */
import { DEVICE_NAME, MAX_PART_BYTES, MAX_PARTS } from './oft-names.js';

/** Most segments a requested path may have (the same limit as offered file names). */
export const GETFILE_MAX_DEPTH = MAX_PARTS;
/** Longest segment, in UTF-8 bytes. */
export const GETFILE_MAX_SEGMENT_BYTES = MAX_PART_BYTES;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

/** Why a single name is unacceptable as a path segment, or undefined when it is fine. */
export function segmentProblem(s: string): string | undefined {
  if (s.length === 0) return 'an empty name';
  if (s === '.' || s === '..') return `a "${s}" segment`;
  if (s.includes('/') || s.includes('\\')) return 'a path separator in a name';
  if (CONTROL.test(s)) return 'a control character in a name';
  if (/[<>:"|?*]/.test(s)) return 'a character file systems refuse (<>:"|?*) in a name';
  if (/[. ]$/.test(s)) return 'a name ending in a dot or a space';
  if (DEVICE_NAME.test(s)) return `a device name (${s})`;
  if (Buffer.byteLength(s, 'utf8') > GETFILE_MAX_SEGMENT_BYTES) return `a name over ${GETFILE_MAX_SEGMENT_BYTES} bytes`;
  return undefined;
}

/** Why a whole path is unacceptable, or undefined when every segment is fine and it is not too deep. */
export function pathProblem(segments: readonly string[]): string | undefined {
  if (segments.length > GETFILE_MAX_DEPTH) return `a path deeper than ${GETFILE_MAX_DEPTH}`;
  for (const s of segments) {
    const p = segmentProblem(s);
    if (p) return p;
  }
  return undefined;
}

/**
 * Splits a user-typed path (`docs/a.txt`, `/docs/`, `docs\a.txt`) into segments. `..` and `.` are kept so the check
 * refuses them rather than silently resolving them.
 */
export function parseUserPath(p: string): string[] {
  return p.split(/[/\\]+/).filter((s) => s.length > 0);
}

/** A path for display: segments joined by `/`, the root as `/`. */
export function showPath(segments: readonly string[]): string {
  return '/' + segments.join('/');
}
