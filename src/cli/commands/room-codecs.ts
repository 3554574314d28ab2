/**
 * The room codecs the CLI (`certim room`, `certim chat`) gives the room client (src/client/rooms/room-codec.ts).
 * Plain rooms always; secure rooms (src/client/rooms/secure-room-adapter.ts) for a client with keys.
 */
import type { CertimClient } from '../../client/client.js';
import type { Identity } from '../../client/identity.js';
import { defaultRoomCodecs, type RoomCodecs } from '../../client/rooms/room-codec.js';
import { keyBlockSenderFor, SecureRoomAdapter } from '../../client/rooms/secure-room-adapter.js';

/** Codecs for a signed-on client with (optionally) our keys, registered into `codecs` (default: a new set). */
export function roomCodecsFor(
  client: CertimClient, identity: Identity | undefined, codecs: RoomCodecs = defaultRoomCodecs(),
  /** Where the secure codec's notes go (key updates, mode switches); a full-screen UI passes its own. */
  onNote: (room: string, note: string) => void = (room, note) => console.error(`certim room: ${room}: ${note}`),
): RoomCodecs {
  // Secure rooms (docs/protocol.md §7, §16): the secure-room codec, for a client with keys.
  if (identity) {
    const secure = SecureRoomAdapter.forClient(client, keyBlockSenderFor(client));
    secure.onNote = onNote;
    codecs.register(secure);
  }
  return codecs;
}
