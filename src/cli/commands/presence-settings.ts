/**
 * The away message and profile a user set with `certim away` / `certim profile`, kept in the profile directory
 * (`away.txt`, `profile.txt`, mode 0600) because the server keeps them only for a signed-on session
 * (docs/protocol.md §3.2). `listen` and `chat` publish them at every sign-on.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
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

/** Publishes the saved away message and profile now and after every later sign-on; problems go to `warn`. */
export function publishSavedPresence(client: CertimClient, profile: ProfileDir, warn: (msg: string) => void): void {
  const publish = (): void => {
    const away = readSaved(profile, 'away');
    const text = readSaved(profile, 'profile');
    if (away !== undefined) setAway(client, away).catch((e: unknown) => warn(`could not set the away message: ${(e as Error).message}`));
    if (text !== undefined) setProfile(client, text).catch((e: unknown) => warn(`could not set the profile: ${(e as Error).message}`));
  };
  client.on('signed-on', publish);
  if (client.connected) publish();
}
