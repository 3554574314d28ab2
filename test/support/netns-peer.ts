/**
 * One peer of the network-namespace proxy test (test/rv-proxy-netns.test.ts), run inside its namespace:
 *   send HOST OSCAR_PORT PROXY_PORT NAME PASSWORD PEER BYTES PROBE_HOST:PORT
 *   recv HOST OSCAR_PORT PROXY_PORT NAME PASSWORD
 * The sender signs on, probes a direct TCP connection to the peer's address (expected to fail), opens a proxy
 * session, proposes it to PEER over ICBM ch-2 (retrying until the server acks delivery), then streams BYTES random
 * bytes. The receiver signs on, waits for the proposal, joins at the address the proposal names and reads to the
 * end. Each prints JSON lines on stdout (never the payload; its SHA-256 only).
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { decodeIcbmChannelMsgToClient } from '../../src/wire/icbm-message.js';
import { decodeRendezvousSummary } from '../../src/wire/rv-proxy.js';
import { decodeTlvRestList, tlv } from '../../src/wire/tlv.js';
import { signOn } from './oscar-test-client.js';
import { ProxyClient, proxiedProposal } from './rv-proxy-client.js';

const out = (o: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(o)}\n`);

function probe(target: string): Promise<string> {
  const [host, port] = target.split(':');
  return new Promise((resolve) => {
    const s = connect({ host: host!, port: Number(port), timeout: 3000 }, () => {
      s.destroy();
      resolve('connected');
    });
    s.on('timeout', () => {
      s.destroy();
      resolve('timeout');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

async function main(): Promise<void> {
  const [role, host, oscarPort, proxyPort, name, password, peer, bytes, probeTarget] = process.argv.slice(2);
  const ep = { host: host!, port: Number(oscarPort) };
  const me = await signOn(ep, name!, password!, 'md5-strong', { multiConn: 1 });
  out({ event: 'signed-on', name });
  if (role === 'send') {
    out({ event: 'probe', result: await probe(probeTarget!) });
    const cookie = randomBytes(8);
    const a = await ProxyClient.open(Number(proxyPort), { host: host! });
    const ack = await a.initSend(name!, cookie);
    out({ event: 'ack', port: ack.port, ipv4: [...ack.ipv4].join('.') });
    for (let i = 0; ; i++) {
      me.conn.sendSnac(0x0004, 0x0006, proxiedProposal(peer!, cookie, ack.port, ack.ipv4, [tlv(0x0003)]));
      const f = await me.conn.nextFrame((fr) => fr.channel === 2 && fr.payload[0] === 0 && fr.payload[1] === 4 && fr.payload[2] === 0 && (fr.payload[3] === 0x0c || fr.payload[3] === 0x01), 10_000);
      if (f.payload[3] === 0x0c) break;
      if (i > 150) throw new Error('the peer never came online');
      await new Promise((r) => setTimeout(r, 200));
    }
    await a.ready();
    const data = randomBytes(Number(bytes));
    a.socket.end(data);
    await a.closed;
    out({ event: 'sent', bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') });
  } else {
    const f = decodeIcbmChannelMsgToClient((await me.conn.expectSnacWhere(0x0004, 0x0007, (s) => s.body[9] === 2, 60_000)).body);
    const rv = f.tlvs.bytes(0x0005)!;
    const s = decodeRendezvousSummary(rv);
    const ip = [...decodeTlvRestList(rv.subarray(26)).bytes(0x0002)!].join('.');
    out({ event: 'proposal', from: f.sender.screenName, ip, port: s.port, viaProxy: s.viaProxy });
    const b = await ProxyClient.open(Number(proxyPort), { host: ip });
    b.sendInitRecv(name!, s.cookie, s.port!);
    await b.ready();
    await b.closed;
    const data = b.data();
    out({ event: 'received', bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') });
  }
  me.conn.close();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    out({ event: 'error', error: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  },
);
