import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreError } from '../store/errors.js';
import { recordingLogger, type LoggedEvent } from './log.js';
import { loggingEstPort, loggingLedger, watchStorePort } from './logged-ports.js';
import { MemoryCertificateLedger } from '../pki/ledger-memory.js';

test('store failures are logged as store.error with the operation; expected outcomes are not', async () => {
  const events: LoggedEvent[] = [];
  const port = watchStorePort('offline', {
    enqueue: async () => {
      throw new StoreError('STORE_LIMIT', 'queue full');
    },
    fetch: async () => {
      throw new StoreError('STORE_UNAVAILABLE', 'database is locked');
    },
    ack: async (n: number) => n,
  }, recordingLogger(events));
  await assert.rejects(port.enqueue(), /queue full/);
  await assert.rejects(port.fetch(), /database is locked/);
  assert.equal(await port.ack(3), 3);
  assert.deepEqual(events, [{ level: 'error', event: 'store.error', fields: { operation: 'offline.fetch', code: 'STORE_UNAVAILABLE', error: 'database is locked' } }]);
});

test('issued user certificates and refused EST requests are logged; server TLS certificates are not', async () => {
  const events: LoggedEvent[] = [];
  const log = recordingLogger(events);
  const ledger = loggingLedger(new MemoryCertificateLedger(), log);
  const rec = { serial: '0a', screenName: 'sam', purpose: 'encrypt' as const, notBefore: new Date(0), notAfter: new Date(1), fingerprint: 'ff', der: new Uint8Array(3), issuedAt: new Date(0) };
  await ledger.recordIssued(rec);
  await ledger.recordIssued({ ...rec, serial: '0b', purpose: 'tls-server', screenName: 'localhost' });
  await assert.rejects(ledger.recordIssued(rec));
  assert.deepEqual(events.map((e) => [e.event, e.fields.serial ?? e.fields.operation]), [['cert.issued', '0a'], ['store.error', 'ledger.recordIssued']]);
  assert.equal(JSON.stringify(events).includes('"der"'), false, 'certificate bytes are not passed to the log');

  events.length = 0;
  const est = loggingEstPort({
    cacerts: async () => ({ status: 200, contentType: 'x', body: 'ok' }),
    simpleEnroll: async () => ({ status: 403, contentType: 'text/plain', body: 'the CSR is for "eve", but you are authenticated as "sam"\n' }),
    simpleReenroll: async () => ({ status: 200, contentType: 'x', body: 'b64' }),
  }, log);
  await est.simpleEnroll('sam', new Uint8Array(), undefined);
  await est.simpleReenroll('sam', new Uint8Array(), undefined, new Uint8Array());
  assert.deepEqual(events, [{ level: 'warn', event: 'est.enroll_refused', fields: { screenName: 'sam', op: 'simpleenroll', status: 403, reason: 'the CSR is for "eve", but you are authenticated as "sam"' } }]);
});
