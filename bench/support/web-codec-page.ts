/**
 * The bench page's module (bench/web-client.bench.ts builds it with Vite into a temp directory, never into
 * dist/web): the codec loop of web-codec-core.ts on the browser's own WebCrypto, reachable from the bench driver as
 * `globalThis.certimCodecBench` on this page only.
 */
import { webCmsCrypto } from '../../src/pki/cms/crypto.js';
import { CodecLoop, type CodecParty } from './web-codec-core.js';

let loop: CodecLoop | undefined;

const api = {
  /** Imports the pair's keys as non-extractable WebCrypto keys and warms up. */
  async prepare(sender: CodecParty, recipient: CodecParty): Promise<void> {
    loop = await CodecLoop.create(webCmsCrypto(globalThis.crypto), sender, recipient);
    await loop.warm();
  },
  encode: (seconds: number) => loop!.encode(seconds),
  decode: (seconds: number) => loop!.decode(seconds),
};

(globalThis as { certimCodecBench?: typeof api }).certimCodecBench = api;
