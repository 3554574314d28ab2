/**
 * The away message and profile a user set with `certim away` / `certim profile`, kept in the profile directory
 * (`away.txt`, `profile.txt`, mode 0600) because the server keeps them only for a signed-on session
 * (docs/protocol.md §3.2). `listen` and `chat` publish them at every sign-on, and again when `certim away` or
 * `certim profile` changes them while they run (the files are polled once a second).
 */
import { existsSync, readFileSync, rmSync, unwatchFile, watchFile } from 'node:fs';
import type { CertimClient } from '../../client/client.js';
import { setAway, setProfile } from '../../client/locate-info.js';
import { writePrivateFile, type ProfileDir } from '../../client/node/profile.js';

/** Which saved text. */
export type SavedText = 'away' | 'profile';

/** The saved text, or undefined. */
export function readSaved(profile: ProfileDir, which: SavedText): string | undefined {
  const p = profile.path(`${which}.txt`);
  return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
}

/** Saves (or with undefined, removes) a text. */
export function writeSaved(profile: ProfileDir, which: SavedText, text: string | undefined): void {
  const p = profile.path(`${which}.txt`);
  if (text === undefined) rmSync(p, { force: true });
  else writePrivateFile(p, text);
}

/**
 * Publishes the saved away message and profile now, after every later sign-on, and whenever the files change;
 * problems go to `warn`. Returns a function that stops watching.
 */
export function publishSavedPresence(client: CertimClient, profile: ProfileDir, warn: (msg: string) => void): () => void {
  let published: Record<SavedText, string | undefined> = { away: undefined, profile: undefined };
  const publish = (force: boolean): void => {
    if (!client.connected) return;
    const away = readSaved(profile, 'away');
    const text = readSaved(profile, 'profile');
    if (force ? away !== undefined : away !== published.away) {
      setAway(client, away).catch((e: unknown) => warn(`could not set the away message: ${(e as Error).message}`));
    }
    if (force ? text !== undefined : text !== published.profile) {
      setProfile(client, text ?? '').catch((e: unknown) => warn(`could not set the profile: ${(e as Error).message}`));
    }
    published = { away, profile: text };
  };
  client.on('signed-on', () => publish(true));
  publish(true);
  const files = (['away', 'profile'] as const).map((w) => profile.path(`${w}.txt`));
  const onChange = (): void => publish(false);
  for (const f of files) watchFile(f, { interval: 1000, persistent: false }, onChange);
  return () => {
    for (const f of files) unwatchFile(f, onChange);
  };
}
