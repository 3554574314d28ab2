/**
 * The OSCAR wire codec: pure functions between bytes and typed values. No sockets, clock or store, and no
 * imports from elsewhere in src/, so server, client and a future web client share it.
 */
export * from './bytes.js';
export * from './flap.js';
export * from './snac.js';
export * from './tlv.js';
export * from './user-info.js';
export * from './capabilities.js';
export * from './extra-info.js';
export * from './cert-info.js';
export * from './icbm-message.js';
export * from './mime-headers.js';
export { md5 } from './md5.js';
export * from './rv-proxy.js';
