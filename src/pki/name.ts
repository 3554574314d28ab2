/**
 * X.501 distinguished names (RFC 5280 §4.1.2.4): building the few we issue and reading any, keeping the original DER
 * so issuer/subject matching is a byte comparison (what RFC 5280 §7.1 calls the binary comparison; we write
 * issuer names by copying the issuer certificate's subject DER, so they always match byte for byte).
 */
import { bytesEqual, toHex } from '../wire/bytes.js';
import { der, readOid, readString, rawOf, seqOf, type Asn1, TAG } from './asn1/der.js';
import { OID } from './oids.js';

/** One attribute of a name, in order of appearance. */
export interface NameAttribute {
  /** Attribute type OID (e.g. 2.5.4.3 for CN). */
  oid: string;
  /** Attribute value as text. */
  value: string;
}

/** A parsed distinguished name. */
export interface DistinguishedName {
  /** The Name DER as it appeared. */
  der: Uint8Array;
  /** Attributes in order (multi-valued RDNs flattened). */
  attributes: NameAttribute[];
}

const SHORT: Record<string, string> = {
  [OID.commonName]: 'CN', [OID.organizationName]: 'O', [OID.organizationalUnitName]: 'OU', [OID.countryName]: 'C',
  [OID.localityName]: 'L', [OID.stateOrProvinceName]: 'ST', [OID.emailAddress]: 'emailAddress',
};
const LONG: Record<string, string> = Object.fromEntries(Object.entries(SHORT).map(([k, v]) => [v, k]));

/** Short attribute keys {@link encodeName} understands. */
export type NameKey = 'CN' | 'O' | 'OU' | 'C' | 'L' | 'ST';
/** Name attributes to encode, in order. */
export type NameSpec = ReadonlyArray<readonly [NameKey, string]>;

/** Encodes a Name: one single-valued RDN per attribute; C as PrintableString, the rest UTF8String (RFC 5280). */
export function encodeName(spec: NameSpec): Uint8Array {
  return der.seq(...spec.map(([k, v]) => {
    const oid = LONG[k]!;
    const val = k === 'C' ? der.printable(v) : der.utf8(v);
    return der.setOf(der.seq(der.oid(oid), val));
  }));
}

/** Parses a Name element. */
export function parseName(n: Asn1): DistinguishedName {
  const attributes: NameAttribute[] = [];
  for (const rdn of seqOf(n, 'Name')) {
    for (const atv of seqOf(rdn, 'RelativeDistinguishedName', 1, TAG.SET)) {
      const [t, v] = seqOf(atv, 'AttributeTypeAndValue', 2);
      let value: string;
      if (v!.tag === TAG.BIT_STRING || v!.tag === TAG.SEQUENCE) {
        // Non-string attribute values (x500UniqueIdentifier, ...): shown as RFC 4514 §2.4 hex.
        value = `#${toHex(rawOf(v!))}`;
      } else {
        // A DirectoryString or another string type; anything else (context tags, INTEGER, ...) and invalid UTF-8 is
        // malformed, as in OpenSSL, so a mutated name cannot parse as "#hex".
        value = readString(v!);
      }
      attributes.push({ oid: readOid(t!), value });
    }
  }
  return { der: rawOf(n), attributes };
}

/** The subject's CN, or undefined. With several CNs the last (most specific in X.509 order) wins. */
export function commonNameOf(name: DistinguishedName): string | undefined {
  let cn: string | undefined;
  for (const a of name.attributes) if (a.oid === OID.commonName) cn = a.value;
  return cn;
}

/** One-line display form like `CN=bob, O=certim` (X.509 order, not RFC 4514 reversed). */
export function formatName(name: DistinguishedName): string {
  return name.attributes.map((a) => `${SHORT[a.oid] ?? a.oid}=${a.value}`).join(', ');
}

/** True when two names are equal by DER bytes. */
export function sameName(a: Uint8Array, b: Uint8Array): boolean {
  return bytesEqual(a, b);
}
