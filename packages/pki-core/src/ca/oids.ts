// Object identifiers used by the CA engine, with the document that assigns each.

/** RFC 5280 §4.2.1 certificate extensions (id-ce) and §5.2/§5.3 CRL extensions. */
export const OID_EXT = {
  subjectKeyIdentifier: '2.5.29.14', // §4.2.1.2
  keyUsage: '2.5.29.15', // §4.2.1.3
  subjectAltName: '2.5.29.17', // §4.2.1.6
  basicConstraints: '2.5.29.19', // §4.2.1.9
  crlNumber: '2.5.29.20', // §5.2.3
  crlReason: '2.5.29.21', // §5.3.1
  nameConstraints: '2.5.29.30', // §4.2.1.10
  crlDistributionPoints: '2.5.29.31', // §4.2.1.13
  authorityKeyIdentifier: '2.5.29.35', // §4.2.1.1
  extKeyUsage: '2.5.29.37', // §4.2.1.12
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1', // §4.2.2.1
  deltaCrlIndicator: '2.5.29.27', // §5.2.4
  freshestCrl: '2.5.29.46', // §5.2.6 (§4.2.1.15 in certificates)
  issuingDistributionPoint: '2.5.29.28', // §5.2.5
  certificateIssuer: '2.5.29.29', // §5.3.3
} as const;

/** RFC 5280 §4.2.1.12 key purposes (id-kp). */
export const OID_KP = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
} as const;

/** RFC 5280 §4.2.2.1 access methods (id-ad). */
export const OID_AD = {
  ocsp: '1.3.6.1.5.5.7.48.1',
  caIssuers: '1.3.6.1.5.5.7.48.2',
} as const;

/** Signature algorithms: RFC 5758 §3.2 (ECDSA), RFC 4055 §5 (RSA), RFC 8410 §3 (Ed25519). */
export const OID_SIG = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  sha256WithRsaEncryption: '1.2.840.113549.1.1.11',
  ed25519: '1.3.101.112',
} as const;

/** Name attribute types, X.520 / RFC 5280 §4.1.2.4. */
export const OID_ATTR = {
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
  country: '2.5.4.6',
  locality: '2.5.4.7',
  state: '2.5.4.8',
  organization: '2.5.4.10',
  organizationalUnit: '2.5.4.11',
} as const;
