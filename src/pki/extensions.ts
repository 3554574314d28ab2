/**
 * X.509 v3 extensions we write and read (RFC 5280 §4.2): basicConstraints, keyUsage, extKeyUsage, subjectAltName,
 * subject/authority key identifiers, CRL distribution points. One encoder and one decoder per extension, next to
 * each other so each can be checked against the ASN.1 quoted above it.
 */
import { latin1Decode, latin1Encode } from '../wire/bytes.js';
import {
  der, children, contentOf, rawOf, readBitString, readBool, readOctets, readOid, readSmallInt, seqOf, TAG, ctxTag,
  type Asn1, Asn1Error,
} from './asn1/der.js';

/** One raw extension. */
export interface Extension {
  /** extnID. */
  oid: string;
  /** critical flag (DEFAULT FALSE). */
  critical: boolean;
  /** extnValue contents (the DER inside the OCTET STRING). */
  value: Uint8Array;
}

/** Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
export function encodeExtension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? der.seq(der.oid(oid), der.bool(true), der.octets(value)) : der.seq(der.oid(oid), der.octets(value));
}

/**
 * Parses `Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension`. Duplicate OIDs are malformed (RFC 5280 §4.2). In DER
 * mode an empty list, an explicitly encoded `critical FALSE` (a DEFAULT value, X.690 §11.5) and anything after
 * extnValue are refused, so the signed bytes have one encoding only.
 */
export function parseExtensions(n: Asn1): Extension[] {
  const out: Extension[] = [];
  const seen = new Set<string>();
  const list = seqOf(n, 'Extensions');
  if (list.length === 0 && !n.ber) throw new Asn1Error('BAD_VALUE', n.start, 'empty Extensions');
  for (const e of list) {
    const kids = seqOf(e, 'Extension', 2);
    const oid = readOid(kids[0]!);
    let critical = false;
    let vi = 1;
    if (kids[1]!.tag === TAG.BOOLEAN) {
      critical = readBool(kids[1]!);
      if (!critical && !e.ber) throw new Asn1Error('BAD_VALUE', kids[1]!.start, 'critical FALSE must be omitted in DER');
      vi = 2;
    }
    const v = kids[vi];
    if (!v) throw new Asn1Error('TRUNCATED', e.start, 'Extension without extnValue');
    if (kids.length > vi + 1) throw new Asn1Error('BAD_VALUE', kids[vi + 1]!.start, 'extra element in Extension');
    if (seen.has(oid)) throw new Asn1Error('BAD_VALUE', e.start, `duplicate extension ${oid}`);
    seen.add(oid);
    out.push({ oid, critical, value: readOctets(v) });
  }
  return out;
}

// --- keyUsage -----------------------------------------------------------------------------------------------------

/** KeyUsage ::= BIT STRING { digitalSignature (0), nonRepudiation (1), keyEncipherment (2), ... decipherOnly (8) } */
export const KEY_USAGE_BITS = [
  'digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign',
  'cRLSign', 'encipherOnly', 'decipherOnly',
] as const;
/** One keyUsage bit name. */
export type KeyUsage = (typeof KEY_USAGE_BITS)[number];

/** DER named BIT STRING: trailing zero bits removed (X.690 §11.2.2). */
export function encodeKeyUsage(usages: readonly KeyUsage[]): Uint8Array {
  let highest = -1;
  const bits = new Uint8Array(2);
  for (const u of usages) {
    const i = KEY_USAGE_BITS.indexOf(u);
    bits[i >> 3]! |= 0x80 >> (i & 7);
    highest = Math.max(highest, i);
  }
  if (highest < 0) return der.bitString(new Uint8Array(0));
  const nbytes = (highest >> 3) + 1;
  return der.bitString(bits.subarray(0, nbytes), nbytes * 8 - (highest + 1));
}

/** Decodes a keyUsage extension value into bit names. */
export function decodeKeyUsage(n: Asn1): KeyUsage[] {
  const { bytes } = readBitString(n);
  const out: KeyUsage[] = [];
  KEY_USAGE_BITS.forEach((name, i) => {
    if ((i >> 3) < bytes.length && (bytes[i >> 3]! & (0x80 >> (i & 7)))) out.push(name);
  });
  return out;
}

// --- basicConstraints ---------------------------------------------------------------------------------------------

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL } */
export interface BasicConstraints {
  /** Whether the subject is a CA. */
  ca: boolean;
  /** Max number of non-self-issued intermediates below. */
  pathLen?: number;
}

/** Encodes basicConstraints (DER omits the DEFAULT FALSE). */
export function encodeBasicConstraints(bc: BasicConstraints): Uint8Array {
  const parts: Uint8Array[] = [];
  if (bc.ca) parts.push(der.bool(true));
  if (bc.pathLen !== undefined) parts.push(der.int(bc.pathLen));
  return der.seq(...parts);
}

/** Decodes basicConstraints. */
export function decodeBasicConstraints(n: Asn1): BasicConstraints {
  const kids = seqOf(n, 'BasicConstraints');
  let ca = false;
  let pathLen: number | undefined;
  let i = 0;
  if (kids[i]?.tag === TAG.BOOLEAN) {
    ca = readBool(kids[i]!);
    if (!ca && !n.ber) throw new Asn1Error('BAD_VALUE', kids[i]!.start, 'cA FALSE must be omitted in DER');
    i++;
  }
  if (kids[i]?.tag === TAG.INTEGER) {
    pathLen = readSmallInt(kids[i]!);
    if (pathLen < 0) throw new Asn1Error('BAD_VALUE', kids[i]!.start, 'negative pathLenConstraint');
    i++;
  }
  if (i !== kids.length) throw new Asn1Error('BAD_VALUE', n.start, 'unexpected element in BasicConstraints');
  return pathLen === undefined ? { ca } : { ca, pathLen };
}

// --- extKeyUsage --------------------------------------------------------------------------------------------------

/** ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId */
export function encodeExtKeyUsage(oids: readonly string[]): Uint8Array {
  return der.seq(...oids.map((o) => der.oid(o)));
}

/** Decodes extKeyUsage into OIDs. */
export function decodeExtKeyUsage(n: Asn1): string[] {
  return seqOf(n, 'ExtKeyUsageSyntax').map(readOid);
}

// --- subjectAltName -----------------------------------------------------------------------------------------------

/** The GeneralName forms we write and read. */
export interface GeneralNames {
  /** uniformResourceIdentifier [6] IA5String (e.g. `im:bob@example.org`, RFC 3860). */
  uris: string[];
  /** dNSName [2] IA5String. */
  dns: string[];
  /** iPAddress [7] OCTET STRING, as text. */
  ips: string[];
  /** rfc822Name [1] IA5String. */
  emails: string[];
  /** directoryName [4] Name, each as its DER (read for name constraints; absent when none). */
  directoryNames?: Uint8Array[];
  /** Context tag numbers of the forms we do not interpret (otherName 0, x400Address 3, ediPartyName 5, registeredID 8). */
  otherForms?: number[];
}

function ipBytes(ip: string): Uint8Array {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return Uint8Array.from(ip.split('.').map(Number));
  // IPv6: expand "::".
  const [head, tail] = ip.includes('::') ? ip.split('::') as [string, string] : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) throw new RangeError(`bad IP address '${ip}'`);
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

/** An IPv4 or IPv6 address in text form as its 4 or 16 bytes (throws RangeError on bad input). */
export function ipAddressBytes(ip: string): Uint8Array {
  return ipBytes(ip);
}

function ipText(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  const groups: string[] = [];
  for (let i = 0; i + 1 < b.length; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return groups.join(':');
}

/** GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName (implicit tags). */
export function encodeGeneralNames(names: Partial<GeneralNames>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of names.emails ?? []) parts.push(der.implicit(1, latin1Encode(e)));
  for (const d of names.dns ?? []) parts.push(der.implicit(2, latin1Encode(d)));
  for (const u of names.uris ?? []) parts.push(der.implicit(6, latin1Encode(u)));
  for (const ip of names.ips ?? []) parts.push(der.implicit(7, ipBytes(ip)));
  return der.seq(...parts);
}

/** Reads GeneralName children of a SEQUENCE (or of an IMPLICIT [n] GeneralNames). Other forms are skipped. */
export function decodeGeneralNameList(items: Asn1[]): GeneralNames {
  const out: GeneralNames = { uris: [], dns: [], ips: [], emails: [] };
  for (const g of items) {
    const text = (): string => latin1Decode(contentOf(g));
    if (g.tag === ctxTag(1, false)) out.emails.push(text());
    else if (g.tag === ctxTag(2, false)) out.dns.push(text());
    else if (g.tag === ctxTag(6, false)) out.uris.push(text());
    else if (g.tag === ctxTag(7, false)) out.ips.push(ipText(contentOf(g)));
    else if (g.tag === ctxTag(4, true)) (out.directoryNames ??= []).push(rawOf(seqOf(g, 'directoryName', 1, ctxTag(4, true))[0]!));
    else (out.otherForms ??= []).push(g.tag & 0x1f);
  }
  return out;
}

/** Decodes a subjectAltName value. */
export function decodeGeneralNames(n: Asn1): GeneralNames {
  return decodeGeneralNameList(seqOf(n, 'GeneralNames'));
}

// --- key identifiers ----------------------------------------------------------------------------------------------

/** AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] KeyIdentifier OPTIONAL, ... } */
export function encodeAuthorityKeyIdentifier(keyId: Uint8Array): Uint8Array {
  return der.seq(der.implicit(0, keyId));
}

/** The keyIdentifier of an AuthorityKeyIdentifier, if present. */
export function decodeAuthorityKeyIdentifier(n: Asn1): Uint8Array | undefined {
  for (const k of seqOf(n, 'AuthorityKeyIdentifier')) if (k.tag === ctxTag(0, false)) return contentOf(k);
  return undefined;
}

// --- cRLDistributionPoints ----------------------------------------------------------------------------------------

/**
 * CRLDistributionPoints ::= SEQUENCE OF DistributionPoint; DistributionPoint ::= SEQUENCE { distributionPoint [0]
 * DistributionPointName OPTIONAL, ... }; DistributionPointName ::= CHOICE { fullName [0] GeneralNames, ... }.
 * The outer [0] tags a CHOICE, so it is explicit; fullName [0] is implicit.
 */
export function encodeCrlDistributionPoints(urls: readonly string[]): Uint8Array {
  return der.seq(...urls.map((u) =>
    der.seq(der.explicit(0, der.implicitConstructed(0, der.implicit(6, latin1Encode(u)))))));
}

/** URIs of all fullName distribution points. */
export function decodeCrlDistributionPoints(n: Asn1): string[] {
  const out: string[] = [];
  for (const dp of seqOf(n, 'CRLDistributionPoints')) {
    for (const f of children(dp)) {
      if (f.tag !== ctxTag(0, true)) continue;
      for (const name of children(f)) {
        if (name.tag === ctxTag(0, true)) out.push(...decodeGeneralNameList(children(name)).uris);
      }
    }
  }
  return out;
}

// --- nameConstraints ----------------------------------------------------------------------------------------------

/** The name form of a GeneralSubtree base we enforce; `other` forms are refused when a certificate uses them. */
export type SubtreeForm = 'email' | 'dns' | 'uri' | 'ip' | 'dir' | 'other';

/** One GeneralSubtree base (RFC 5280 §4.2.1.10). */
export interface GeneralSubtree {
  /** Name form. */
  form: SubtreeForm;
  /** Context tag number of the GeneralName CHOICE. */
  tag: number;
  /** IA5 text for email/dns/uri; empty for the others. */
  text: string;
  /** Raw content: address + mask for ip, the Name DER for dir. */
  bytes: Uint8Array;
}

/** NameConstraints, with the subtrees of each kind. */
export interface NameConstraints {
  /** permittedSubtrees (empty when absent). */
  permitted: GeneralSubtree[];
  /** excludedSubtrees (empty when absent). */
  excluded: GeneralSubtree[];
}

/**
 * NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees OPTIONAL, excludedSubtrees [1] GeneralSubtrees
 * OPTIONAL }; GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0] BaseDistance DEFAULT 0, maximum [1]
 * BaseDistance OPTIONAL }. RFC 5280 §4.2.1.10: minimum MUST be zero and maximum MUST be absent, and the
 * extension MUST NOT be an empty sequence; anything else is malformed.
 */
export function decodeNameConstraints(n: Asn1): NameConstraints {
  const out: NameConstraints = { permitted: [], excluded: [] };
  const kids = seqOf(n, 'NameConstraints');
  if (kids.length === 0) throw new Asn1Error('BAD_VALUE', n.start, 'empty NameConstraints');
  let last = -1;
  for (const k of kids) {
    const which = k.tag === ctxTag(0, true) ? 0 : k.tag === ctxTag(1, true) ? 1 : -1;
    if (which <= last) throw new Asn1Error('BAD_TAG', k.start, 'unexpected element in NameConstraints');
    last = which;
    const subtrees = children(k);
    if (subtrees.length === 0) throw new Asn1Error('BAD_VALUE', k.start, 'empty GeneralSubtrees');
    for (const st of subtrees) {
      const [base, ...rest] = seqOf(st, 'GeneralSubtree', 1);
      if (rest.length) throw new Asn1Error('BAD_VALUE', st.start, 'GeneralSubtree minimum/maximum must be absent (RFC 5280 §4.2.1.10)');
      (which === 0 ? out.permitted : out.excluded).push(subtreeBase(base!));
    }
  }
  return out;
}

function subtreeBase(g: Asn1): GeneralSubtree {
  const tag = g.tag & 0x1f;
  const text = (): string => latin1Decode(contentOf(g));
  if (g.tag === ctxTag(1, false)) return { form: 'email', tag, text: text(), bytes: contentOf(g) };
  if (g.tag === ctxTag(2, false)) return { form: 'dns', tag, text: text(), bytes: contentOf(g) };
  if (g.tag === ctxTag(6, false)) return { form: 'uri', tag, text: text(), bytes: contentOf(g) };
  if (g.tag === ctxTag(7, false)) {
    const b = contentOf(g);
    if (b.length !== 8 && b.length !== 32) throw new Asn1Error('BAD_VALUE', g.start, 'iPAddress constraint must be address + mask');
    return { form: 'ip', tag, text: '', bytes: b };
  }
  if (g.tag === ctxTag(4, true)) return { form: 'dir', tag, text: '', bytes: rawOf(seqOf(g, 'directoryName', 1, ctxTag(4, true))[0]!) };
  return { form: 'other', tag, text: '', bytes: contentOf(g) };
}
