#!/bin/sh
# Regenerates the engine tests' certificates (run from this directory; the
# outputs are committed, so tests never call openssl). Long validity, except
# expired_* whose dates are fixed in the past. openssl 3.0's `req -x509` has
# no -not_before, so every certificate is issued with `openssl ca`, which
# takes -startdate/-enddate. //tls:cert_factory replaces these for fakemx;
# they stay because the engine's tests should not depend on the factory.
#
#   ca.pem            root "mxkit engine test root" (ECDSA P-256)
#   ecdsa.pem/.key    leaf mx.test, P-256, issued by ca
#   rsa.pem/.key      leaf mx.test, RSA 2048, issued by ca
#   expired.pem/.key  leaf mx.test, valid 2000-01-01..2001-01-01, issued by ca
#   self_signed.pem/.key  leaf mx.test, self-signed
#   unknown_ca.pem/.key   leaf mx.test, issued by a root not in ca.pem
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/ca.cnf" <<CNF
[ca]
default_ca = test_ca
[test_ca]
database = $work/index.txt
new_certs_dir = $work
serial = $work/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:mx.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
# As openssl req -x509 makes them: no keyUsage. BoringSSL does not take a
# certificate whose keyUsage lacks keyCertSign as its own issuer, and would
# report 20 (unknown issuer) instead of 18 (self-signed) for it.
[v3_self]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:mx.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
rsa_key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"; }

# issue KEY CN EXT START END OUT [CA_CERT CA_KEY]; no CA_CERT: self-signed.
issue() {
  key=$1 cn=$2 ext=$3 start=$4 end=$5 out=$6
  : >"$work/index.txt"
  openssl rand -hex 8 >"$work/serial"
  openssl req -new -key "$key" -subj "/CN=$cn" -out "$work/req.csr"
  if [ $# -ge 8 ]; then
    openssl ca -batch -config "$work/ca.cnf" -extensions "$ext" -notext \
      -startdate "$start" -enddate "$end" -cert "$7" -keyfile "$8" \
      -in "$work/req.csr" -out "$out"
  else
    openssl ca -batch -config "$work/ca.cnf" -extensions "$ext" -notext -selfsign \
      -startdate "$start" -enddate "$end" -keyfile "$key" \
      -in "$work/req.csr" -out "$out"
  fi
}

long_start=20250101000000Z
long_end=20991231235959Z

ec_key ca.key
issue ca.key "mxkit engine test root" v3_ca $long_start $long_end ca.pem
ec_key other_ca.key
issue other_ca.key "mxkit engine other root" v3_ca $long_start $long_end "$work/other_ca.pem"

ec_key ecdsa.key
issue ecdsa.key mx.test v3_leaf $long_start $long_end ecdsa.pem ca.pem ca.key
rsa_key rsa.key
issue rsa.key mx.test v3_leaf $long_start $long_end rsa.pem ca.pem ca.key
ec_key expired.key
issue expired.key mx.test v3_leaf 20000101000000Z 20010101000000Z expired.pem ca.pem ca.key
ec_key self_signed.key
issue self_signed.key mx.test v3_self $long_start $long_end self_signed.pem
ec_key unknown_ca.key
issue unknown_ca.key mx.test v3_leaf $long_start $long_end unknown_ca.pem "$work/other_ca.pem" other_ca.key
rm -f other_ca.key ca.key  # nothing else is issued from them
