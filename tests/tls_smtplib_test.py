"""Python smtplib.starttls() (Debian's /usr/bin/python3 and its OpenSSL 3)
against fakemx's certificate variants, with a verifying context (the test
root as cafile, hostname checked) and with a non-verifying one.

Run by tls_smtplib_test.sh, which starts one fakemx per variant and passes
for each VARIANT (upper case, "-" as "_"): VARIANT_PORT, VARIANT_MAILDIR,
VARIANT_CA; and TLS_HOSTNAME, the name the certificates are issued for.
"""

import json
import os
import smtplib
import ssl
import unittest

TIMEOUT = 30  # seconds; every socket operation is bounded
HOSTNAME = os.environ["TLS_HOSTNAME"]
QUEUED = b"2.0.0 Ok: queued as "


def instance(variant):
    key = variant.upper().replace("-", "_")
    return (int(os.environ[key + "_PORT"]), os.environ[key + "_MAILDIR"], os.environ[key + "_CA"])


def message(subject):
    return (f"From: a@example.org\r\nTo: b@example.net\r\nSubject: {subject}\r\n\r\n"
            "over STARTTLS\r\n").encode("ascii")


class Smtp(smtplib.SMTP):
    """smtplib.SMTP connected to 127.0.0.1 that verifies (and sends SNI
    for) HOSTNAME: starttls() takes the TLS server name from the host it
    connected to, and the certificates name mx.test, not 127.0.0.1."""

    def __init__(self, port):
        super().__init__(local_hostname="client.test", timeout=TIMEOUT)
        self.connect("127.0.0.1", port)
        self._host = HOSTNAME


def verifying_context(cafile):
    context = ssl.create_default_context(cafile=cafile)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    return context


def non_verifying_context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def stored_messages(maildir):
    return sorted(os.listdir(os.path.join(maildir, "new")))


class StartTlsTest(unittest.TestCase):
    def deliver(self, variant, context):
        """EHLO, STARTTLS, EHLO, one message; returns (stored name, cipher
        and version smtplib saw)."""
        port, maildir, _ = instance(variant)
        body = message(f"smtplib {variant}")
        with Smtp(port) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("starttls"), s.esmtp_features)
            code, _ = s.starttls(context=context)
            self.assertEqual(code, 220)
            # starttls() forgets the pre-TLS EHLO (RFC 3207 §4.2); the
            # new one must not offer STARTTLS again.
            s.ehlo()
            self.assertFalse(s.has_extn("starttls"), s.esmtp_features)
            cipher, version, _ = s.sock.cipher()
            self.assertEqual(s.mail("a@example.org")[0], 250)
            self.assertEqual(s.rcpt("b@example.net")[0], 250)
            code, text = s.data(body)
            self.assertEqual(code, 250, text)
        self.assertTrue(text.startswith(QUEUED), text)
        name = text[len(QUEUED):].decode("ascii")
        with open(os.path.join(maildir, "new", name), "rb") as f:
            self.assertEqual(f.read(), body)
        with open(os.path.join(maildir, "envelopes", name + ".json"), "rb") as f:
            tls = json.loads(f.read().decode("utf-8"))["tls"]
        self.assertEqual(tls["used"], True)
        self.assertEqual(tls["implicit"], False)
        self.assertEqual(tls["version"], version)
        self.assertEqual(tls["cipher"], cipher)
        self.assertEqual(tls["sni"], HOSTNAME)
        self.assertEqual(tls["certificate"], variant)
        self.assertEqual(tls["plaintext_discarded_bytes"], 0)
        return name, version

    def refused(self, variant, context):
        """STARTTLS with `context` fails verification; returns the error.
        Nothing is stored and fakemx still answers the next client."""
        port, maildir, _ = instance(variant)
        before = stored_messages(maildir)
        with Smtp(port) as s:
            s.ehlo()
            with self.assertRaises(ssl.SSLCertVerificationError) as caught:
                s.starttls(context=context)
            s.close()
        self.assertEqual(stored_messages(maildir), before)
        with Smtp(port) as s:
            self.assertEqual(s.noop()[0], 250)
        return caught.exception

    def test_verifying_context_delivers_to_good(self):
        _, version = self.deliver("good", verifying_context(instance("good")[2]))
        self.assertEqual(version, "TLSv1.3")

    def test_verifying_context_refuses_expired_with_code_10(self):
        e = self.refused("expired", verifying_context(instance("expired")[2]))
        self.assertEqual((e.verify_code, e.verify_message), (10, "certificate has expired"))

    def test_verifying_context_refuses_self_signed_with_code_18(self):
        e = self.refused("self-signed", verifying_context(instance("self-signed")[2]))
        self.assertEqual((e.verify_code, e.verify_message), (18, "self-signed certificate"))

    def test_verifying_context_refuses_wrong_host_with_code_62(self):
        e = self.refused("wrong-host", verifying_context(instance("wrong-host")[2]))
        self.assertEqual(e.verify_code, 62)
        self.assertEqual(e.verify_message,
                         f"Hostname mismatch, certificate is not valid for '{HOSTNAME}'.")

    def test_verifying_context_refuses_unknown_ca_with_code_20(self):
        e = self.refused("unknown-ca", verifying_context(instance("unknown-ca")[2]))
        self.assertEqual((e.verify_code, e.verify_message),
                         (20, "unable to get local issuer certificate"))

    def test_verifying_context_refuses_not_yet_valid_with_code_9(self):
        e = self.refused("not-yet-valid", verifying_context(instance("not-yet-valid")[2]))
        self.assertEqual((e.verify_code, e.verify_message), (9, "certificate is not yet valid"))

    def test_verifying_context_refuses_missing_intermediate_with_code_20(self):
        e = self.refused("missing-intermediate",
                         verifying_context(instance("missing-intermediate")[2]))
        self.assertEqual((e.verify_code, e.verify_message),
                         (20, "unable to get local issuer certificate"))

    def test_verifying_context_refuses_rsa_1024_with_code_66(self):
        # Debian 12's OpenSSL runs at security level 2: RSA keys >= 2048 bits.
        e = self.refused("rsa-1024", verifying_context(instance("rsa-1024")[2]))
        self.assertEqual((e.verify_code, e.verify_message), (66, "EE certificate key too weak"))

    def test_verifying_context_refuses_sha1_signature_with_code_68(self):
        e = self.refused("sha1-signature", verifying_context(instance("sha1-signature")[2]))
        self.assertEqual((e.verify_code, e.verify_message),
                         (68, "CA signature digest algorithm too weak"))

    def test_default_context_accepts_no_san_through_the_common_name(self):
        # Python 3.11's default context keeps hostname_checks_common_name
        # on, so OpenSSL falls back to the subject CN when a certificate has
        # no dNSName SAN (RFC 6125 §6.4.4 allows it; browsers do not).
        context = verifying_context(instance("no-san")[2])
        self.assertTrue(context.hostname_checks_common_name)
        self.deliver("no-san", context)

    def test_context_without_common_name_fallback_refuses_no_san_with_code_62(self):
        context = verifying_context(instance("no-san")[2])
        context.hostname_checks_common_name = False
        e = self.refused("no-san", context)
        self.assertEqual(e.verify_code, 62)

    def test_non_verifying_context_delivers_to_expired(self):
        self.deliver("expired", non_verifying_context())


if __name__ == "__main__":
    unittest.main(verbosity=2)
