/**
 * Differential test of the certificate parser: a corpus of OpenSSL-made certificates and seeded, bounded mutations of
 * them (bit flips, byte changes, inserted and deleted bytes, bytes appended inside and after the outer SEQUENCE,
 * changed and non-minimal lengths, truncation, re-encoded serials) is parsed by certim and by Node's
 * X509Certificate (OpenSSL's d2i_X509). Properties:
 *
 * 1. certim never accepts what OpenSSL refuses;
 * 2. no mutant that certim accepts still verifies under its issuer's key (strict DER: the signed and fingerprinted
 *    bytes have exactly one encoding), and OpenSSL agrees on the signature of every mutant certim parses;
 * 3. a sample of certim's acceptances is confirmed with `openssl x509 -noout` itself (so X509Certificate is a
 *    faithful stand-in for the command line).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, type KeyObject } from 'node:crypto';
import { parseAsn1, parseAt, seqOf, rawOf, isConstructed, der, type Asn1 } from './asn1/der.js';
import { parseCertificate } from './x509-parse.js';
import { verifySignature } from './algorithms.js';
import { openssl, makeOpensslPki, type MadeCert, type OpensslPki } from './openssl.test-support.js';

const SEED = 0xc3271;
const PER_CERT = 170;

let P: OpensslPki;
let corpus: { cert: MadeCert; issuerKey: KeyObject }[];

before(() => {
  P = makeOpensslPki('certim-diff-');
  const CA = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid:always'];
  const LEAF = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,nonRepudiation', 'extendedKeyUsage=emailProtection,clientAuth', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid'];
  const root = P.issue('root', { subj: '/O=certim-test/CN=Root', ext: CA, days: 3650 });
  const rsaRoot = P.issue('rsa-root', { subj: '/O=certim-test/CN=RSA Root', keyFile: P.key('rsa-root', 'rsa2048'), ext: CA, days: 3650 });
  const inter = P.issue('inter', { subj: '/O=certim-test/CN=Issuing', issuer: root, ext: [...CA, 'nameConstraints=permitted;DNS:example.org,permitted;URI:example.org'] });
  const made: [MadeCert, MadeCert][] = [
    [root, root],
    [rsaRoot, rsaRoot],
    [inter, root],
    [P.issue('leaf-ec', { subj: '/CN=Bob Smith', issuer: inter, ext: [...LEAF, 'subjectAltName=URI:im:bobsmith@example.org'] }), inter],
    [P.issue('leaf-rsa', { subj: '/O=Org/OU=Unit/CN=alice', issuer: rsaRoot, keyFile: P.key('leaf-rsa', 'rsa2048'), ext: [...LEAF, 'subjectAltName=URI:im:alice@example.org,email:alice@example.org'] }), rsaRoot],
    [P.issue('tls', { subj: '/CN=server', issuer: inter, ext: ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth', 'subjectAltName=DNS:im.example.org,IP:127.0.0.1,IP:::1', 'crlDistributionPoints=URI:https://example.org/ca/crl', 'certificatePolicies=2.5.29.32.0'] }), inter],
    [P.issue('long-serial', { subj: '/CN=carol', issuer: root, serial: '0x7f112233445566778899aabbccddeeff00112233', ext: LEAF }), root],
    [P.issue('gentime', { subj: '/CN=dave', issuer: root, days: 12000, ext: LEAF }), root],
  ];
  corpus = made.map(([cert, issuer]) => ({ cert, issuerKey: issuer.cert().publicKey }));
});

/** mulberry32: a small seeded PRNG, so every run mutates the same way. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** Every element's header offset (for length edits). */
function headers(root: Asn1): Asn1[] {
  const out: Asn1[] = [root];
  const walk = (n: Asn1): void => {
    if (!isConstructed(n) || n.depth > 8) return;
    let p = n.contentStart;
    while (p < n.contentEnd) {
      const c = parseAt(n.buf, p, n.contentEnd, {}, n.depth + 1);
      out.push(c);
      walk(c);
      p = c.end;
    }
  };
  walk(root);
  return out;
}

function splice(b: Uint8Array, at: number, del: number, ins: Uint8Array = new Uint8Array(0)): Uint8Array {
  return Uint8Array.from([...b.subarray(0, at), ...ins, ...b.subarray(at + del)]);
}

type Mutator = (d: Uint8Array, rnd: (n: number) => number) => Uint8Array;

const MUTATORS: Record<string, Mutator> = {
  bitFlip: (d, r) => { const o = Uint8Array.from(d); o[r(d.length)]! ^= 1 << r(8); return o; },
  byteSet: (d, r) => { const o = Uint8Array.from(d); o[r(d.length)] = r(256); return o; },
  insertByte: (d, r) => splice(d, r(d.length + 1), 0, Uint8Array.of(r(256))),
  deleteByte: (d, r) => splice(d, r(d.length), 1),
  truncate: (d, r) => d.subarray(0, r(d.length)),
  appendOutside: (d, r) => Uint8Array.from([...d, ...Array.from({ length: 1 + r(8) }, () => r(256))]),
  appendInside: (d, r) => {
    const [tbs, alg, sig] = seqOf(parseAsn1(d), 'Certificate', 3);
    const extra = r(2) ? Uint8Array.of(0x05, 0x00) : Uint8Array.from(Array.from({ length: 1 + r(8) }, () => r(256)));
    return der.seq(rawOf(tbs!), rawOf(alg!), rawOf(sig!), extra);
  },
  lengthChange: (d, r) => {
    const hs = headers(parseAsn1(d));
    const h = hs[r(hs.length)]!;
    const o = Uint8Array.from(d);
    const lenAt = h.start + 1;
    const delta = r(2) ? 1 : -1;
    if (o[lenAt]! < 0x80) o[lenAt] = (o[lenAt]! + delta) & 0x7f;
    else o[lenAt + (o[lenAt]! & 0x7f)] = (o[lenAt + (o[lenAt]! & 0x7f)]! + delta) & 0xff;
    return o;
  },
  nonMinimalLength: (d, r) => {
    // Re-encode the length of the TBSCertificate or of one of its direct children in a longer (non-DER) form.
    const [tbs, alg, sig] = seqOf(parseAsn1(d), 'Certificate', 3);
    const kids = seqOf(tbs, 'TBSCertificate');
    const pick = r(kids.length + 1);
    const longForm = (n: Asn1): Uint8Array => {
      const len = n.contentEnd - n.contentStart;
      return Uint8Array.from([n.tag, 0x84, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff, ...n.buf.subarray(n.contentStart, n.contentEnd)]);
    };
    const newTbs = pick === kids.length
      ? longForm(tbs!)
      : der.seq(...kids.map((k, i) => (i === pick ? longForm(k) : rawOf(k))));
    return der.seq(newTbs, rawOf(alg!), rawOf(sig!));
  },
  serialReencode: (d, r) => {
    const [tbs, alg, sig] = seqOf(parseAsn1(d), 'Certificate', 3);
    const kids = seqOf(tbs, 'TBSCertificate');
    const si = kids[0]!.tag === 0xa0 ? 1 : 0;
    const s = kids[si]!;
    const content = s.buf.subarray(s.contentStart, s.contentEnd);
    const variants = [
      Uint8Array.of(0x02, content.length + 1, 0x00, ...content), // non-minimal (leading 00)
      Uint8Array.of(0x02, 0x00), // empty
      Uint8Array.of(0x02, content.length, content[0]! | 0x80, ...content.subarray(1)), // negative twin
      Uint8Array.of(0x02, content.length + 1, 0xff, ...content), // leading ff
    ];
    const v = variants[r(variants.length)]!;
    return der.seq(der.seq(...kids.map((k, i) => (i === si ? v : rawOf(k)))), rawOf(alg!), rawOf(sig!));
  },
};

/** Where a mutant first differs from its original, for failure messages. */
function describeDiff(a: Uint8Array, b: Uint8Array): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const hex = (x: Uint8Array): string => Buffer.from(x.subarray(Math.max(0, i - 8), i + 8)).toString('hex');
  let why = '';
  try {
    new X509Certificate(b);
  } catch (e) {
    why = (e as Error).message;
  }
  return `offset ${i}: ${hex(a)} -> ${hex(b)} (${why})`;
}

function certimParses(d: Uint8Array): ReturnType<typeof parseCertificate> | undefined {
  try {
    return parseCertificate(d);
  } catch {
    return undefined;
  }
}

function nodeParses(d: Uint8Array): X509Certificate | undefined {
  try {
    return new X509Certificate(d);
  } catch {
    return undefined;
  }
}

test('differential: certim accepts nothing OpenSSL refuses, and no mutant still verifies', async (t) => {
  const t0 = performance.now();
  const rnd = prng(SEED);
  const names = Object.keys(MUTATORS);
  let total = 0;
  let certimOk = 0;
  let nodeOk = 0;
  const certimOnly: string[] = [];
  const malleable: string[] = [];
  const sigDisagree: string[] = [];
  const acceptedSample: Uint8Array[] = [];
  const byMutator: Record<string, { n: number; certim: number; node: number }> = {};
  for (const { cert, issuerKey } of corpus) {
    assert.ok(certimParses(cert.der) && nodeParses(cert.der), `${cert.name} parses in both`);
    const seen = new Set<string>();
    for (let i = 0; i < PER_CERT; i++) {
      const m = names[i % names.length]!;
      let d: Uint8Array;
      try {
        d = MUTATORS[m]!(cert.der, rnd);
      } catch {
        continue; // the mutator could not apply (e.g. a length at the end); not a case
      }
      const key = Buffer.from(d).toString('base64');
      if (Buffer.from(d).equals(Buffer.from(cert.der)) || seen.has(key)) continue;
      seen.add(key);
      total++;
      const stat = (byMutator[m] ??= { n: 0, certim: 0, node: 0 });
      stat.n++;
      const c = certimParses(d);
      const n = nodeParses(d);
      if (c) { certimOk++; stat.certim++; }
      if (n) { nodeOk++; stat.node++; }
      if (c && !n) certimOnly.push(`${cert.name}/${m}: ${describeDiff(cert.der, d)}`);
      if (c) {
        const ours = verifySignature(c.signatureAlgorithm, c.tbs, c.signature, issuerKey);
        const theirs = n ? n.verify(issuerKey) : false;
        if (ours) malleable.push(`${cert.name}/${m}`);
        if (ours !== theirs) sigDisagree.push(`${cert.name}/${m}: certim ${ours}, openssl ${theirs}`);
        if (acceptedSample.length < 24 && rnd(3) === 0) acceptedSample.push(d);
      }
    }
  }
  t.diagnostic(`mutants ${total}: certim parsed ${certimOk}, OpenSSL (X509Certificate) parsed ${nodeOk}, certim-only ${certimOnly.length}, still verifying ${malleable.length}`);
  t.diagnostic(`per mutator (n/certim/openssl): ${Object.entries(byMutator).map(([k, v]) => `${k} ${v.n}/${v.certim}/${v.node}`).join(', ')}`);
  assert.ok(total >= 1000, `corpus of ${total} mutants`);
  assert.deepEqual(certimOnly, [], 'certim accepted certificates OpenSSL refuses');
  assert.deepEqual(malleable, [], 'a mutated encoding still verified: a second valid encoding exists');
  assert.deepEqual(sigDisagree, []);
  // The command line agrees with X509Certificate on what certim accepted (sample, one process each).
  for (const d of acceptedSample) {
    const r = openssl(['x509', '-inform', 'DER', '-noout'], d);
    assert.ok(r.ok, `openssl x509 refused a mutant certim accepted: ${r.out}`);
  }
  const ms = performance.now() - t0;
  t.diagnostic(`${ms.toFixed(0)} ms, ${acceptedSample.length} acceptances confirmed with openssl x509`);
  assert.ok(ms < 20_000);
});

test('differential: the command line and X509Certificate agree on a sample of refusals', () => {
  const rnd = prng(SEED + 1);
  let checked = 0;
  for (const { cert } of corpus.slice(0, 4)) {
    for (const m of ['lengthChange', 'serialReencode', 'nonMinimalLength', 'appendInside', 'truncate']) {
      const d = MUTATORS[m]!(cert.der, rnd);
      const n = nodeParses(d) !== undefined;
      const o = openssl(['x509', '-inform', 'DER', '-noout'], d).ok;
      assert.equal(n, o, `${cert.name}/${m}: X509Certificate ${n}, openssl x509 ${o}`);
      checked++;
    }
  }
  assert.equal(checked, 20);
});
