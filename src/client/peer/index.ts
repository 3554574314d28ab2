/**
 * Peer services over rendezvous (docs/protocol.md §8): the pinned-TLS peer connection and OFT2 file transfer.
 * See peer-connection.ts for the connection API.
 */
export * from './peer-connection.js';
export * from './peer-error.js';
export { securePeerSocket, sameDer } from './peer-tls.js';
