/**
 * The client files bench's baseline (bench/files-tls.bench.ts): a raw TLS pipe between two Node processes through
 * the do-nothing TCP forwarder, doing what certim's peers do minus the protocol: the receiver writes what arrives
 * to a file (with certim's own double-buffered writer), the sender streams a file. Both connect to the forwarder
 * (receiver first); the receiver is the TLS server and asks for a client certificate, as a certim listener does.
 *   recv PORT OUTFILE KEY CERT   prints {"event":"ready"}, then {"event":"done","bytes":N,"seconds":S} (first byte to last)
 *   send PORT FILE KEY CERT      prints {"event":"ready"} when TLS is up, then {"event":"done"}
 */
import { createReadStream, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { connect } from 'node:net';
import { TLSSocket, connect as tlsConnect } from 'node:tls';
import { BatchedFileWriter } from '../../src/client/peer/batched-file-writer.js';

const [mode, portText, path, keyFile, certFile] = process.argv.slice(2);
const key = readFileSync(keyFile!);
const cert = readFileSync(certFile!);
const out = (o: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(o)}\n`);

const raw = connect({ host: '127.0.0.1', port: Number(portText) });
await new Promise<void>((r) => raw.once('connect', () => r()));
if (mode === 'recv') {
  out({ event: 'ready' });
  const tls = new TLSSocket(raw, { isServer: true, key, cert, requestCert: true, rejectUnauthorized: false });
  const fh = await open(path!, 'w');
  // The same double-buffered writer as certim's receiver, so the two differ in the transfer, not in how they write.
  const writer = new BatchedFileWriter(fh, 0, 1 << 20);
  let bytes = 0;
  let t0 = 0n;
  for await (const chunk of tls as AsyncIterable<Buffer>) {
    if (t0 === 0n) t0 = process.hrtime.bigint();
    bytes += chunk.length;
    const wait = writer.add(chunk);
    if (wait) await wait;
  }
  await writer.close();
  await fh.close();
  out({ event: 'done', bytes, seconds: Number(process.hrtime.bigint() - t0) / 1e9 });
} else {
  const tls = tlsConnect({ socket: raw, key, cert, rejectUnauthorized: false, checkServerIdentity: () => undefined });
  await new Promise<void>((r) => tls.once('secureConnect', () => r()));
  out({ event: 'ready' });
  for await (const chunk of createReadStream(path!, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
    if (!tls.write(chunk)) await new Promise<void>((r) => tls.once('drain', () => r()));
  }
  await new Promise<void>((r) => tls.end(() => r()));
  out({ event: 'done' });
}
process.exit(0);
