/**
 * The room codecs the CLI (`certim room`, `certim chat`) gives the room client (src/client/rooms/room-codec.ts).
 * Plain rooms always; secure rooms once a secure-room codec is registered here — ONE line, below.
 */
import type { CertimClient } from '../../client/client.js';
import type { Identity } from '../../client/identity.js';
import { defaultRoomCodecs, type RoomCodecs } from '../../client/rooms/room-codec.js';
import { keyBlockSenderFor, SecureRoomAdapter } from '../../client/rooms/secure-room-adapter.js';

/** Codecs for a signed-on client with (optionally) our keys. */
export function roomCodecsFor(client: CertimClient, identity: Identity | undefined): RoomCodecs {
  const codecs = defaultRoomCodecs();
  // Secure rooms (docs/protocol.md §7, §16): the secure-room codec, for a client with keys.
  if (identity) {
    const secure = SecureRoomAdapter.forClient(client, keyBlockSenderFor(client));
    secure.onNote = (room, note) => console.error(`certim room: ${room}: ${note}`);
    codecs.register(secure);
  }
  return codecs;
}
