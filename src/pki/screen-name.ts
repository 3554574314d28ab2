/**
 * OSCAR screen-name normalization: AIM treats "Bob Smith", "bobsmith" and "BOBSMITH" as the same account — case is
 * ignored and spaces are not significant (retro-aim-server `NewIdentScreenName`, joscar `OscarTools.normalize`).
 */
export function normalizeScreenName(screenName: string): string {
  return screenName.replace(/ /g, '').toLowerCase();
}

/** True when two screen names denote the same account. */
export function sameScreenName(a: string, b: string): boolean {
  return normalizeScreenName(a) === normalizeScreenName(b);
}
