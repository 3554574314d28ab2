import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlapChannel, FlapDeframer, encodeFlap, encodeFlapHello } from '../wire/flap.js';
import { decodeSnac, encodeSnac, encodeSnacError } from '../wire/snac.js';
import { ClientError } from './errors.js';
import { OscarConnection } from './oscar-connection.js';
import type { Transport, TransportFactory, TransportHandlers } from './transport.js';

/** A scripted server on the other end of the transport seam. */
class FakeServer {
  handlers!: TransportHandlers;
  readonly written: { channel: number; payload: Uint8Array }[] = [];
  private readonly deframer = new FlapDeframer();
  closed = false;
  seq = 0;

  factory: TransportFactory = async (_target, handlers) => {
    this.handlers = handlers;
    // The server speaks first: its channel-1 hello, split across two reads on purpose.
    const hello = encodeFlap({ channel: FlapChannel.SignOn, sequence: this.seq++, payload: encodeFlapHello() });
    setImmediate(() => {
      handlers.onData(hello.subarray(0, 3));
      handlers.onData(hello.subarray(3));
    });
    const t: Transport = {
      peer: 'fake',
      write: (b) => {
        for (const f of this.deframer.push(b)) this.written.push({ channel: f.channel, payload: f.payload });
      },
      close: () => {
        if (!this.closed) {
          this.closed = true;
          setImmediate(() => handlers.onClose());
        }
      },
    };
    return t;
  };

  snacs() {
    return this.written.filter((w) => w.channel === FlapChannel.Data).map((w) => decodeSnac(w.payload));
  }

  reply(family: number, subtype: number, requestId: number, body: Uint8Array): void {
    this.handlers.onData(encodeFlap({ channel: FlapChannel.Data, sequence: this.seq++, payload: encodeSnac({ family, subtype, flags: 0, requestId }, body) }));
  }
}

const target = { host: 'x', port: 1 };

test('request resolves with the reply echoing its request id; others go to onSnac', async () => {
  const srv = new FakeServer();
  const unsolicited: number[] = [];
  const conn = await OscarConnection.open(srv.factory, target, [], { onSnac: (s) => unsolicited.push(s.subtype) });
  assert.equal(srv.written[0]!.channel, FlapChannel.SignOn, 'client answers the hello');
  const p1 = conn.request(2, 2, new Uint8Array(0));
  const p2 = conn.request(4, 4, new Uint8Array(0));
  const [s1, s2] = srv.snacs();
  assert.notEqual(s1!.requestId, s2!.requestId);
  srv.reply(3, 0x0b, 0x80000001, new Uint8Array([0])); // server-originated
  srv.reply(4, 5, s2!.requestId, new Uint8Array([9]));
  srv.reply(2, 3, s1!.requestId, new Uint8Array([7]));
  assert.deepEqual([...(await p2).body], [9]);
  assert.deepEqual([...(await p1).body], [7]);
  assert.deepEqual(unsolicited, [0x0b]);
  conn.close();
});

test('an error SNAC rejects with SNAC_ERROR and the code', async () => {
  const srv = new FakeServer();
  const conn = await OscarConnection.open(srv.factory, target, []);
  const p = conn.request(4, 6, new Uint8Array(0));
  srv.reply(4, 1, srv.snacs()[0]!.requestId, encodeSnacError(0x04));
  await assert.rejects(p, (e: unknown) => ClientError.is(e, 'SNAC_ERROR') && e.snacError === 0x04 && /not logged on/.test(e.message));
  conn.close();
});

test('no reply rejects with TIMEOUT', async () => {
  const srv = new FakeServer();
  const conn = await OscarConnection.open(srv.factory, target, []);
  await assert.rejects(conn.request(1, 6, new Uint8Array(0), { timeoutMs: 30 }), (e: unknown) => ClientError.is(e, 'TIMEOUT'));
  conn.close();
});

test('a closed stream rejects pending requests with CONNECTION_CLOSED, and later sends too', async () => {
  const srv = new FakeServer();
  let closedWith: Error | undefined | null = null;
  const conn = await OscarConnection.open(srv.factory, target, [], { onClose: (e) => { closedWith = e; } });
  const p = conn.request(1, 6, new Uint8Array(0));
  srv.handlers.onClose();
  await assert.rejects(p, (e: unknown) => ClientError.is(e, 'CONNECTION_CLOSED'));
  assert.ok(ClientError.is(closedWith, 'CONNECTION_CLOSED'));
  await assert.rejects(conn.request(1, 6, new Uint8Array(0)), (e: unknown) => ClientError.is(e, 'CONNECTION_CLOSED'));
});

test('a bad FLAP start byte closes the connection with PROTOCOL', async () => {
  const srv = new FakeServer();
  let closedWith: Error | undefined;
  const conn = await OscarConnection.open(srv.factory, target, [], { onClose: (e) => { closedWith = e; } });
  const p = conn.request(1, 6, new Uint8Array(0));
  srv.handlers.onData(new Uint8Array([0x2b, 2, 0, 0, 0, 0]));
  await assert.rejects(p, (e: unknown) => ClientError.is(e, 'CONNECTION_CLOSED'));
  assert.ok(ClientError.is(closedWith, 'PROTOCOL'));
  assert.equal(conn.isClosed, true);
});

test('sendChecked resolves when a later request is answered, rejects on its own error', async () => {
  const srv = new FakeServer();
  const conn = await OscarConnection.open(srv.factory, target, []);
  const ok = conn.sendChecked(2, 4, new Uint8Array(0));
  const barrier = conn.request(2, 2, new Uint8Array(0));
  srv.reply(2, 3, srv.snacs()[1]!.requestId, new Uint8Array(0));
  await barrier;
  await ok;
  const bad = conn.sendChecked(2, 4, new Uint8Array(0));
  const barrier2 = conn.request(2, 2, new Uint8Array(0));
  const [, , s3, s4] = srv.snacs();
  srv.reply(2, 1, s3!.requestId, encodeSnacError(0x0e));
  srv.reply(2, 3, s4!.requestId, new Uint8Array(0));
  await barrier2;
  await assert.rejects(bad, (e: unknown) => ClientError.is(e, 'SNAC_ERROR') && e.snacError === 0x0e);
  conn.close();
});
