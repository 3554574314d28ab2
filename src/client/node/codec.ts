/**
 * The Secure IM codec of the Node client (CLI, tests): src/pki/cms on the Node provider — node:crypto fast paths
 * behind the WebCrypto shape, plus the aim-legacy profile for classic clients (src/pki/cms/node-crypto.ts).
 */
import { nodeCmsCrypto } from '../../pki/cms/node-crypto.js';
import { cmsCodec, type SecureImCodec } from '../codec.js';

/** src/pki/cms with node:crypto, both profiles. */
export const nodeCodec: SecureImCodec = cmsCodec(nodeCmsCrypto);
