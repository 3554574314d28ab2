/**
 * What a received file may be called (docs/protocol.md §8.5, §8.6): an offered name is a relative path whose parts
 * are joined by 0x01 (U+0001 here). A hostile sender can offer anything, so every part is checked before a byte is
 * written: no empty, `.` or `..` part, no hidden part (a leading dot), no `/` or `\` inside a part, no absolute path or drive letter, no NUL or
 * other control character, no Windows device name (CON, NUL, COM1...), no trailing dot or space, at most 255 bytes
 * per part and 32 parts. The result is joined under the chosen directory and checked to stay inside it; symlinks
 * are refused when the file is opened (oft-receive.ts).
 */

/** The path separator inside OFT names. */
export const OFT_PATH_SEPARATOR = '\u0001';

/** Windows device names, with or without an extension: refused as offered names and as Get File paths. */
export const DEVICE_NAME = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$|clock\$)(\..*)?$/i;
/** Longest path part, in UTF-8 bytes (the usual file-system limit). */
export const MAX_PART_BYTES = 255;
/** Most parts a path may have. */
export const MAX_PARTS = 32;

/** A refused name: `reason` says why, in words. */
export class UnsafeNameError extends Error {
  constructor(readonly offered: string, readonly reason: string) {
    super(`refused the offered file name ${JSON.stringify(offered)}: ${reason}`);
    this.name = 'UnsafeNameError';
  }
}

/** Splits and checks an offered OFT name; returns its parts or throws {@link UnsafeNameError}. */
export function safeNameParts(offered: string): string[] {
  const fail = (reason: string): never => {
    throw new UnsafeNameError(offered, reason);
  };
  if (offered.length === 0) fail('the name is empty');
  if (/^[a-zA-Z]:/.test(offered)) fail('it names a drive (absolute path)');
  if (offered.startsWith('/') || offered.startsWith('\\')) fail('it is an absolute path');
  const parts = offered.split(OFT_PATH_SEPARATOR);
  if (parts.length > MAX_PARTS) fail(`more than ${MAX_PARTS} path parts`);
  for (const p of parts) {
    if (p === '') fail('it has an empty path part (absolute path or doubled separator)');
    if (p === '.' || p === '..') fail('it climbs out of the download directory (".." or ".")');
    if (p.includes('/') || p.includes('\\')) fail('a path part contains "/" or "\\" (path traversal)');
    // A hidden name would add to or start configuration the user never sees (.ssh/authorized_keys, .bashrc,
    // .config/autostart/x.desktop): the download directory is often the home directory.
    if (p.startsWith('.')) fail(`"${p}" is a hidden name (it starts with a dot): it could plant configuration such as .ssh or .bashrc`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(p)) fail('it contains NUL or control characters');
    if (DEVICE_NAME.test(p)) fail(`"${p}" is a device name`);
    if (/[. ]$/.test(p)) fail(`"${p}" ends with a dot or a space`);
    if (/[<>:"|?*]/.test(p)) fail(`"${p}" contains a character that is not allowed in file names (<>:"|?*)`);
    if (new TextEncoder().encode(p).length > MAX_PART_BYTES) fail(`a path part is longer than ${MAX_PART_BYTES} bytes`);
  }
  return parts;
}

/** Joins relative path parts into an OFT name. */
export function oftName(parts: readonly string[]): string {
  return parts.join(OFT_PATH_SEPARATOR);
}
