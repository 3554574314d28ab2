/**
 * PKCS#12 export/import of the profile's identity (`certim keys export --p12` / `certim keys import`).
 */
import { ClientError } from '../../client/errors.js';
import type { ProfileDir } from '../../client/node/profile.js';

/** Writes both key pairs and certificates to a .p12 protected by `passphrase`. */
export async function exportP12(_profile: ProfileDir, _passphrase: string, _file: string, _legacy: boolean): Promise<void> {
  throw new ClientError('BAD_ARGUMENT', 'PKCS#12 export needs src/pki/pkcs12.ts, which is not in this build yet');
}

/** Reads a .p12 into the profile. */
export async function importP12(_profile: ProfileDir, _passphrase: string, _file: string): Promise<void> {
  throw new ClientError('BAD_ARGUMENT', 'PKCS#12 import needs src/pki/pkcs12.ts, which is not in this build yet');
}
