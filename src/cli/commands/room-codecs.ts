/**
 * The room codecs the CLI (`certim room`, `certim chat`) gives the room client (src/client/rooms/room-codec.ts).
 * Plain rooms always; secure rooms once a secure-room codec is registered here — ONE line, below.
 */
import type { CertimClient } from '../../client/client.js';
import type { Identity } from '../../client/identity.js';
import { defaultRoomCodecs, type RoomCodecs } from '../../client/rooms/room-codec.js';

/** Codecs for a signed-on client with (optionally) our keys. */
export function roomCodecsFor(client: CertimClient, identity: Identity | undefined): RoomCodecs {
  const codecs = defaultRoomCodecs();
  void client;
  void identity;
  // Secure rooms (docs/protocol.md §7): register the secure-room codec here, e.g.
  // if (identity) codecs.register(secureRoomCodec(client, identity));
  return codecs;
}
