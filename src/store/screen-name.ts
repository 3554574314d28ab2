/**
 * Screen-name rules for new accounts. Normalization (case and spaces ignored) is the PKI's, re-exported so the
 * store's keys and the certificate name binding can never disagree.
 */
export { normalizeScreenName, sameScreenName } from '../pki/screen-name.js';

/** Shortest and longest AIM screen name, counting spaces (AIM registration rules: 3–16 characters). */
export const SCREEN_NAME_MIN = 3;
/** See {@link SCREEN_NAME_MIN}. */
export const SCREEN_NAME_MAX = 16;

/**
 * Checks a screen name against the AIM registration rules: 3–16 characters, starts with a letter, then ASCII
 * letters, digits and single inner spaces. Returns null when valid, else a human-readable reason.
 * (ICQ-style all-digit UINs are deliberately not accepted: certim has no ICQ login.)
 */
export function screenNameProblem(screenName: string): string | null {
  if (screenName.length < SCREEN_NAME_MIN) return `screen name must be at least ${SCREEN_NAME_MIN} characters`;
  if (screenName.length > SCREEN_NAME_MAX) return `screen name must be at most ${SCREEN_NAME_MAX} characters`;
  if (!/^[A-Za-z]/.test(screenName)) return 'screen name must start with a letter';
  if (/ $/.test(screenName)) return 'screen name must not end with a space';
  if (/ {2}/.test(screenName)) return 'screen name must not contain two spaces in a row';
  const bad = /[^A-Za-z0-9 ]/.exec(screenName);
  if (bad) return `screen name may contain only letters, digits and spaces (found ${JSON.stringify(bad[0])})`;
  // Three letters minimum once spaces are gone, so "a b" is not a valid key of length 2.
  if (screenName.replace(/ /g, '').length < SCREEN_NAME_MIN) {
    return `screen name must have at least ${SCREEN_NAME_MIN} letters or digits`;
  }
  return null;
}
