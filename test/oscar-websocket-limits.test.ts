/**
 * The connection loop's limits over WebSocket (docs/protocol.md §14.2), with lowered limits on an in-process OSCAR
 * server whose WebSocket endpoint sits on a real HTTP listener (the endpoint does not care which server hands it the
 * upgrade; the HTTPS composition is covered by oscar-websocket.test.ts): a FLAP header announcing more than the max
 * frame size closes the socket, and a WebSocket reader that stops reading is disconnected as a slow reader while
 * its TCP sender carries on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { WebSocket } from 'ws';
import { signOn as librarySignOn } from '../src/client/sign-on.js';
import { webSocketTransportFactory } from '../src/client/ws-transport.js';
import { createWebSocketEndpoint } from '../src/server/net/ws-endpoint.js';
import { ByteWriter } from '../src/wire/bytes.js';
import { FlapChannel, encodeFlap, encodeFlapHello } from '../src/wire/flap.js';
import { decodeSnacError } from '../src/wire/snac.js';
import { LOOSE_RATE_CLASSES, floodUntilSlowReaderCut, withOscarFixture, type OscarFixture } from './support/oscar-server-fixture.js';
import { imBody, signOn } from './support/oscar-test-client.js';

/** Serves the fixture's engine over WebSocket on a plain HTTP port; resolves with that port and a closer. */
async function webSocketFront(fx: OscarFixture): Promise<{ port: number; origin: string; close(): Promise<void> }> {
  const endpoint = createWebSocketEndpoint({ oscar: fx.server, allowedHosts: ['127.0.0.1'] });
  const http: Server = createServer((_req, res) => res.writeHead(404).end());
  http.on('upgrade', (req, socket, head: Buffer) => endpoint.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as { port: number }).port;
  fx.server.engine.boundPorts.ws = port;
  return {
    port,
    origin: `https://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    }),
  };
}

test('a FLAP header announcing more than the max frame size closes the WebSocket before the body arrives', async () => {
  await withOscarFixture({ engine: { config: { maxFrameSize: 1024 } } }, async (fx) => {
    const front = await webSocketFront(fx);
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${front.port}/oscar`, { origin: front.origin });
      ws.on('error', () => {});
      await new Promise((resolve) => ws.once('open', resolve));
      const closed = new Promise<number>((resolve) => ws.once('close', resolve));
      const before = fx.server.metrics().malformedFrames;
      ws.send(encodeFlap({ channel: FlapChannel.SignOn, sequence: 0, payload: encodeFlapHello() }));
      // Only the 6-byte header of a 2000-byte frame: the deframer refuses it on the header alone.
      ws.send(new ByteWriter(6).u8(0x2a).u8(FlapChannel.Data).u16(1).u16(2000).finish());
      await closed;
      assert.equal(fx.server.metrics().malformedFrames, before + 1);
      // A message over the largest FLAP frame (65,541 bytes) is refused by ws itself with 1009.
      const big = new WebSocket(`ws://127.0.0.1:${front.port}/oscar`, { origin: front.origin });
      big.on('error', () => {});
      await new Promise((resolve) => big.once('open', resolve));
      const code = new Promise<number>((resolve) => big.once('close', resolve));
      big.send(new Uint8Array(65_542));
      assert.equal(await code, 1009);
    } finally {
      await front.close();
    }
  });
});

test('a WebSocket recipient that stops reading is disconnected as a slow reader; its TCP sender is unaffected', async () => {
  await withOscarFixture({ users: [['sender', 'pw'], ['sleepy', 'pw']], engine: { config: { maxPendingOutput: 256 * 1024, rateClasses: LOOSE_RATE_CLASSES } } }, async (fx, ep) => {
    const front = await webSocketFront(fx);
    try {
      const sockets: WebSocket[] = [];
      const origin = front.origin;
      const Ctor = class extends WebSocket {
        constructor(url: string) {
          super(url, { origin });
          sockets.push(this);
        }
      };
      let sleepyClosed!: () => void;
      const gone = new Promise<void>((resolve) => (sleepyClosed = resolve));
      const sleepy = await librarySignOn({
        screenName: 'sleepy', password: 'pw', mode: 'md5', server: { host: '127.0.0.1', port: front.port },
        transport: webSocketTransportFactory({ WebSocket: Ctor, url: (t) => `ws://${t.host}:${t.port}/oscar` }),
        capabilities: [], buddies: [], handlers: { onClose: () => sleepyClosed() },
      });
      assert.equal(sockets.length, 2, 'login and BOS both over the WebSocket');
      assert.equal(fx.server.engine.registry.sessionsOf('sleepy').length, 1);
      sockets[1]!.pause();
      const sender = await signOn(ep, 'sender', 'pw', 'md5-strong');
      const before = fx.server.metrics().limitDisconnects;
      const sent = await floodUntilSlowReaderCut(fx.server, sender, 'sleepy');
      assert.equal(fx.server.metrics().limitDisconnects, before + 1, `after ${sent} IMs`);
      sockets[1]!.resume();
      await gone;
      for (let i = 0; i < 50 && fx.server.engine.registry.sessionsOf('sleepy').length > 0; i++) await new Promise((r) => setTimeout(r, 10));
      sender.conn.sendSnac(0x0004, 0x0006, imBody('sleepy', 'still there?'));
      assert.equal(decodeSnacError((await sender.conn.expectSnacWhere(0x0004, 0x0001, () => true, 5000)).body).code, 0x04);
      sender.conn.close();
      sleepy.bos.close();
    } finally {
      await front.close();
    }
  });
});
