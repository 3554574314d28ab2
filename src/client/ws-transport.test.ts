import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientError } from './errors.js';
import { oscarWebSocketUrl, pageOriginUrl, webSocketTransportFactory, type WebSocketLike } from './ws-transport.js';

/** A scripted stand-in for the browser's WebSocket. */
class FakeWebSocket implements WebSocketLike {
  static last: FakeWebSocket | undefined;
  binaryType = 'blob';
  readyState = 0;
  sent: Uint8Array[] = [];
  closedWith: number | undefined;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {
    FakeWebSocket.last = this;
  }
  send(data: Uint8Array): void {
    this.sent.push(data);
  }
  close(code?: number): void {
    this.closedWith = code;
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
}

test('oscarWebSocketUrl: wss, the HTTPS host:port, /oscar; IPv6 bracketed', () => {
  assert.equal(oscarWebSocketUrl({ host: 'chat.example.org', port: 8443 }), 'wss://chat.example.org:8443/oscar');
  assert.equal(oscarWebSocketUrl({ host: '::1', port: 8443 }), 'wss://[::1]:8443/oscar');
});

test("pageOriginUrl: the page's own origin, whatever host the BOS address names", () => {
  assert.equal(pageOriginUrl('https://localhost:8443/app/?x=1#y')(), 'wss://localhost:8443/oscar');
});

test('bytes in both directions as binary messages (one per task); a text message ends the stream with PROTOCOL', async () => {
  const got: Uint8Array[] = [];
  let closedWith: Error | undefined | 'open' = 'open';
  const opening = webSocketTransportFactory({ WebSocket: FakeWebSocket })({ host: 'h', port: 1 }, {
    onData: (c) => got.push(c),
    onClose: (e) => (closedWith = e),
  });
  const ws = FakeWebSocket.last!;
  assert.equal(ws.binaryType, 'arraybuffer');
  ws.open();
  const t = await opening;
  t.write(new Uint8Array([0x2a, 1]));
  t.write(new Uint8Array([2, 3]));
  assert.deepEqual(ws.sent, [], 'writes of one task wait for the microtask');
  await Promise.resolve();
  assert.deepEqual(ws.sent, [new Uint8Array([0x2a, 1, 2, 3])], 'and leave as one binary message');
  t.write(new Uint8Array(40_000));
  t.write(new Uint8Array(40_000));
  await Promise.resolve();
  assert.deepEqual((ws.sent as Uint8Array[]).slice(1).map((m) => m.length), [40_000, 40_000], 'a message never passes 65,541 bytes');
  ws.onmessage?.({ data: new Uint8Array([1, 2, 3]).buffer });
  assert.deepEqual(got, [new Uint8Array([1, 2, 3])]);
  ws.onmessage?.({ data: 'text' });
  assert.equal(ws.closedWith, 1003);
  assert.ok(ClientError.is(closedWith, 'PROTOCOL'));
});

test('a refused or silent connect fails with CONNECT_FAILED', async () => {
  const factory = webSocketTransportFactory({ WebSocket: FakeWebSocket, connectTimeoutMs: 20 });
  const refused = factory({ host: 'h', port: 1 }, { onData: () => {}, onClose: () => {} });
  FakeWebSocket.last!.onerror?.({});
  FakeWebSocket.last!.onclose?.({});
  await assert.rejects(refused, (e: unknown) => ClientError.is(e, 'CONNECT_FAILED'));
  await assert.rejects(factory({ host: 'h', port: 1 }, { onData: () => {}, onClose: () => {} }), (e: unknown) => ClientError.is(e, 'CONNECT_FAILED') && /timed out/.test((e as Error).message));
});
