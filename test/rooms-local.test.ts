// The room-registry conformance suite on the in-process registry: one instance is both nodes (as in-process
// multi-node tests share it).
import { LocalRooms } from '../src/server/cluster/local-rooms.js';
import { roomsConformance } from './rooms-conformance.js';

roomsConformance('local', async (limits) => {
  const rooms = new LocalRooms(limits);
  return { nodes: [rooms, rooms], close: async () => {} };
});
