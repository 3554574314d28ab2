/**
 * The rendezvous proxy (docs/protocol.md §8.3) in a real `certim server --json` process: the ready line names the
 * proxy port; two classic clients signed on over plain OSCAR exchange a proposal through the server, pair through
 * the proxy and move megabytes both ways intact; a stalled reader stalls the writer instead of growing the
 * server's memory; a stranger's cookie and a wrong name are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { decodeIcbmChannelMsgToClient } from '../src/wire/icbm-message.js';
import { RvProxyErrorCode } from '../src/wire/rv-proxy.js';
import { parseServerArgs } from '../src/cli/commands/server.js';
import { TestServer } from './support/cli-harness.js';
import { signOn } from './support/oscar-test-client.js';
import { ProxyClient, proxiedProposal } from './support/rv-proxy-client.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

test('certim server process: proposal through the server, pairing through the proxy, MBs both ways, bounded memory', { timeout: 240_000 }, async (t) => {
  const server = await TestServer.start();
  try {
    assert.equal(typeof server.ready.proxy, 'number');
    assert.ok(server.ready.proxy > 0);
    await server.addUser('alice', 'alice-pw-1', { legacyLogin: true });
    await server.addUser('bob', 'bob-pw-1', { legacyLogin: true });
    const ep = { port: server.ready.oscar };
    const alice = await signOn(ep, 'alice', 'alice-pw-1', 'md5-strong');
    const bob = await signOn(ep, 'bob', 'bob-pw-1', 'md5-strong');

    const cookie = randomBytes(8);
    const a = await ProxyClient.open(server.ready.proxy);
    const ack = await a.initSend('alice', cookie);
    alice.conn.sendSnac(0x0004, 0x0006, proxiedProposal('bob', cookie, ack.port, ack.ipv4));
    const got = decodeIcbmChannelMsgToClient((await bob.conn.expectSnac(0x0004, 0x0007)).body);
    assert.deepEqual([got.channel, [...got.cookie]], [2, [...cookie]]);

    const stranger = await ProxyClient.open(server.ready.proxy);
    stranger.sendInitRecv('bob', randomBytes(8), ack.port);
    assert.equal(await stranger.error(), RvProxyErrorCode.BadRequest, 'unknown cookie');
    const impostor = await ProxyClient.open(server.ready.proxy);
    impostor.sendInitRecv('alice', cookie, ack.port);
    assert.equal(await impostor.error(), RvProxyErrorCode.BadRequest, 'names not matching the rendezvous');

    const b = await ProxyClient.open(server.ready.proxy);
    b.sendInitRecv('bob', cookie, ack.port);
    await Promise.all([a.ready(), b.ready()]);

    // A slow reader: bob stops reading; alice writes until the stream stalls. The proxy must not absorb it.
    const pid = server.cli.child.pid!;
    const rssBefore = rssBytes(pid);
    b.socket.pause();
    const data = randomBytes(64 * 1024 * 1024);
    let offset = 0;
    let stalledAt = -1;
    while (offset < data.length) {
      const ok = a.socket.write(data.subarray(offset, offset + 256 * 1024));
      offset += 256 * 1024;
      if (!ok) {
        const drained = await Promise.race([once(a.socket, 'drain').then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 500))]);
        if (!drained) {
          stalledAt = a.socket.bytesWritten - a.socket.writableLength;
          break;
        }
      }
    }
    const rssStalled = rssBytes(pid);
    t.diagnostic(`writer stalled after ${stalledAt} bytes reached the kernel; server RSS ${(rssBefore / 2 ** 20).toFixed(1)} -> ${(rssStalled / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(stalledAt > 0 && stalledAt < 48 * 1024 * 1024, `the writer stalled (after ${stalledAt} bytes)`);
    assert.ok(rssStalled - rssBefore < 32 * 1024 * 1024, `server RSS grew by ${rssStalled - rssBefore} bytes`);
    b.socket.resume();
    while (offset < data.length) {
      if (!a.socket.write(data.subarray(offset, offset + 256 * 1024))) await once(a.socket, 'drain');
      offset += 256 * 1024;
    }
    a.socket.end();
    await b.until(() => b.receivedBytes === data.length, 'alice -> bob', 60_000);
    assert.equal(sha(b.data()), sha(data));

    const back = randomBytes(5 * 1024 * 1024 + 3);
    b.socket.end(back);
    await a.until(() => a.receivedBytes === back.length, 'bob -> alice', 60_000);
    assert.equal(sha(a.data()), sha(back));
    await Promise.all([a.closed, b.closed]);

    const metrics = await new Promise<string>((resolve, reject) => {
      httpsGet({ host: '127.0.0.1', port: server.ready.https, path: '/metrics', ca: readFileSync(join(server.dataDir, 'ca', 'root.crt')) }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body));
      }).on('error', reject);
    });
    assert.match(metrics, /^certim_proxy_pairs_spliced_total 1$/m);
    assert.match(metrics, /^certim_proxy_refused_total 2$/m);
    assert.match(metrics, new RegExp(`^certim_proxy_bytes_relayed_total ${data.length + back.length}$`, 'm'));
    alice.conn.close();
    bob.conn.close();
  } finally {
    await server.stop();
  }
});

test('flags: --proxy-port defaults to --port + 3 (5193), a free port when --port is 0; --proxy-address must be IPv4', () => {
  const opts = (argv: string[]) => {
    const p = parseServerArgs(argv);
    assert.ok(p !== 'help');
    return p.options;
  };
  assert.equal(opts([]).proxyPort, 5193);
  assert.equal(opts(['--port', '6190']).proxyPort, 6193);
  assert.equal(opts(['--port', '0']).proxyPort, 0);
  assert.equal(opts(['--port', '0', '--proxy-port', '7000']).proxyPort, 7000);
  assert.equal(opts(['--proxy-address', '203.0.113.5']).proxy?.advertisedIpv4, '203.0.113.5');
  assert.throws(() => parseServerArgs(['--proxy-address', 'proxy.example']), /IPv4/);
  assert.throws(() => parseServerArgs(['--proxy-port', '99999']), /port number/);
});
