/**
 * OSCAR screen-name normalization: AIM treats "Bob Smith", "bobsmith" and "BOBSMITH" as the same account — case is
 * ignored and spaces are not significant (retro-aim-server `NewIdentScreenName`, joscar `OscarTools.normalize`).
 */
export function normalizeScreenName(screenName: string): string {
  // Most names reach here without spaces (every relayed IM normalizes its recipient): skip the regex then.
  return (screenName.includes(' ') ? screenName.replace(/ /g, '') : screenName).toLowerCase();
}

/** True when two screen names denote the same account. */
export function sameScreenName(a: string, b: string): boolean {
  return normalizeScreenName(a) === normalizeScreenName(b);
}
