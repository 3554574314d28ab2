/**
 * Test helper (not for production use): a real TLS connection on 127.0.0.1 between two holders of test-CA
 * certificates, both presenting one (the listening side demands a client certificate, as docs/protocol.md §8.2
 * says), with each side's view of the other's certificate fingerprint — the stand-in for the peer-connection layer
 * in unit tests of the Direct IM and Get File engines.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { generateRsaKeyPair } from '../../pki/keys.js';
import { makeTestCa, pemOf, type TestCa } from '../../pki/test-ca.test-support.js';

/** A test identity: key and certificate (PEM) under the test CA. */
export interface TestPeerIdentity {
  name: string;
  keyPem: string;
  certPem: string;
  /** SHA-256 of the certificate DER, lowercase hex. */
  fingerprint: string;
}

/** Makes one identity under `ca`. */
export async function testPeerIdentity(ca: TestCa, name: string): Promise<TestPeerIdentity> {
  const keys = await generateRsaKeyPair(2048);
  const cert = ca.issue({ publicKey: keys.publicKey, cn: name, keyUsage: ['digitalSignature'] });
  return {
    name,
    keyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certPem: pemOf(cert),
    fingerprint: createHash('sha256').update(cert.der).digest('hex'),
  };
}

/** The two ends of one TLS connection, plus what each saw of the other. */
export interface TlsPair {
  /** The listening (TLS server) side. */
  server: TLSSocket;
  /** The connecting side. */
  client: TLSSocket;
  /** Fingerprint of the certificate the client presented, as the server saw it. */
  clientSeen: string;
  /** Fingerprint of the certificate the server presented, as the client saw it. */
  serverSeen: string;
  close(): void;
}

/** A test CA plus one TLS pair between `a` (server) and `b` (client). Certificates are checked by the caller. */
export async function tlsPair(ca: TestCa, a: TestPeerIdentity, b: TestPeerIdentity): Promise<TlsPair> {
  const caPem = [pemOf(ca.root), pemOf(ca.issuing)];
  // Trust is decided by pinning (the caller compares fingerprints), so the handshake itself accepts any chain.
  const srv = createServer({ key: a.keyPem, cert: a.certPem, ca: caPem, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as AddressInfo).port;
  const accepted = once(srv, 'secureConnection') as Promise<[TLSSocket]>;
  const client = connect({ host: '127.0.0.1', port, key: b.keyPem, cert: b.certPem, ca: caPem, rejectUnauthorized: false, checkServerIdentity: () => undefined });
  await once(client, 'secureConnect');
  const [server] = await accepted;
  srv.close();
  const fp = (s: TLSSocket): string => createHash('sha256').update(s.getPeerCertificate().raw).digest('hex');
  return {
    server, client, clientSeen: fp(server), serverSeen: fp(client),
    close: () => {
      server.destroy();
      client.destroy();
    },
  };
}

export { makeTestCa };
