// Writes the OpenDKIM differential corpus (auth/dkim/testdata/opendkim/):
// one .eml per case, keys.txt (the key records both verifiers are served)
// and cases.txt (case, the RFC 6376 answer, what it tests). Deterministic:
// the keys are the committed PEMs in keys/, t= is fixed, and RSA PKCS#1 v1.5
// and Ed25519 signatures are deterministic, so a rerun rewrites the same
// bytes. Run through regenerate.sh.
//
// Each signature is made from a template by SignFieldTemplate with a body
// hash computed here, so a broken case is broken only where it says; the
// syntax cases are edited after signing (they fail before any crypto).

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "auth/dkim/canonicalize.h"
#include "auth/dkim/signature.h"
#include "auth/dkim/signer.h"
#include "base/base64.h"
#include "openssl/sha.h"

namespace mxkit::auth::dkim {
namespace {

constexpr int64_t kNow = 1700000000;  // opendkim_diff_test.cc's clock

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "cannot read " << path << "\n";
    std::exit(1);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Write(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
  if (!out) {
    std::cerr << "cannot write " << path << "\n";
    std::exit(1);
  }
}

std::string Sha256B64(std::string_view data) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  return base::EncodeBase64(std::string_view(reinterpret_cast<const char*>(d), sizeof d));
}

template <typename T>
T Must(absl::StatusOr<T> v, const std::string& what) {
  if (!v.ok()) {
    std::cerr << what << ": " << v.status() << "\n";
    std::exit(1);
  }
  return *std::move(v);
}

struct Generator {
  std::string dir;
  SigningKey rsa2048, rsa2048_other, rsa1024, ed;
  std::string cases;

  const std::string message =
      "From: Alice <alice@example.com>\r\n"
      "To: Bob <bob@example.net>\r\n"
      "Subject: Corpus message\r\n"
      "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
      "Message-ID: <corpus@example.com>\r\n"
      "\r\n"
      "Hello Bob,\r\n"
      "  the figures\tare attached.  \r\n"
      "\r\n";

  // The signed field for `tmpl` ("DKIM-Signature: ...; bh={bh}; b="):
  // bh= over `msg`'s body under `body_c` (the first `l` bytes when l >= 0),
  // b= by `key`. Folded after each "; " past 70 columns? No: one line, so
  // that edits below find each tag as written.
  std::string Sign(const std::string& msg, const std::string& tmpl, const SigningKey& key,
                   Canonicalization body_c = Canonicalization::kRelaxed, long l = -1) {
    DkimMessage split = Must(SplitMessage(msg), "split");
    std::string body = CanonicalizeBody(body_c, split.body);
    if (l >= 0 && static_cast<std::size_t>(l) < body.size()) body.resize(static_cast<std::size_t>(l));
    std::string field = absl::StrReplaceAll(tmpl, {{"{bh}", Sha256B64(body)}});
    std::string b = Must(SignFieldTemplate(split.headers, field, key), tmpl);
    return field + base::EncodeBase64(b) + "\r\n";
  }

  void Case(const std::string& name, const std::string& expected, const std::string& what,
            const std::string& eml) {
    Write(dir + "/" + name + ".eml", eml);
    cases += name + "\t" + expected + "\t" + what + "\n";
  }

  static std::string Replace(std::string s, const std::string& from, const std::string& to) {
    std::size_t at = s.find(from);
    if (at == std::string::npos) {
      std::cerr << "\"" << from << "\" not found\n";
      std::exit(1);
    }
    return s.replace(at, from.size(), to);
  }

  void Run() {
    const std::string t = "t=" + std::to_string(kNow) + "; ";
    const std::string h = "h=from:to:subject:date:message-id; ";
    const std::string rr = "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; ";
    auto rsa = [&](const std::string& selector_and_more) {
      return rr + selector_and_more + t + h + "bh={bh}; b=";
    };
    const std::string valid = Sign(message, rsa("s=r2048; "), rsa2048);

    // Valid signatures.
    Case("valid-rsa2048-relaxed", "pass", "rsa-sha256 2048 c=relaxed/relaxed", valid + message);
    Case("valid-rsa2048-simple", "pass", "rsa-sha256 2048 c=simple/simple",
         Sign(message,
              "DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; d=example.com; s=r2048; " + t +
                  h + "bh={bh}; b=",
              rsa2048, Canonicalization::kSimple) +
             message);
    Case("valid-rsa1024", "pass", "rsa-sha256 1024 (RFC 8301's minimum)",
         Sign(message, rsa("s=r1024; "), rsa1024) + message);
    Case("valid-ed25519", "pass", "ed25519-sha256 (RFC 8463)",
         Sign(message,
              "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=ed; " +
                  t + h + "bh={bh}; b=",
              ed) +
             message);
    Case("valid-oversigned", "pass", "h= lists from and subject once more than present",
         Sign(message,
              rr + "s=r2048; " + t +
                  "h=from:to:subject:date:message-id:from:subject; bh={bh}; b=",
              rsa2048) +
             message);
    Case("valid-l-then-appended", "pass",
         "l= covers the body as signed; text appended after signing is not covered (§3.5)",
         Sign(message, rsa("s=r2048; l=40; "), rsa2048, Canonicalization::kRelaxed, 40) +
             message + "Appended by a list.\r\n");
    Case("valid-i-subdomain", "pass", "i= in a subdomain of d= (§3.5)",
         Sign(message, rsa("s=r2048; i=alice@mail.example.com; "), rsa2048) + message);
    Case("valid-folded-field", "pass", "the signature field folded at every tag",
         Sign(message,
              "DKIM-Signature: v=1;\r\n a=rsa-sha256;\r\n\tc=relaxed/relaxed;\r\n d=example.com;"
              "\r\n s=r2048;\r\n " + t + "\r\n " + h + "\r\n bh={bh};\r\n b=",
              rsa2048) +
             message);

    // Content changed after signing.
    Case("body-altered", "fail", "one body byte changed after signing (§6.1.3 bh mismatch)",
         valid + Replace(message, "Hello Bob", "Hello Rob"));
    Case("header-altered", "fail", "Subject changed after signing (§6.1.3 step 4)",
         valid + Replace(message, "Subject: Corpus message", "Subject: Corpus messages"));
    {
      std::string v = valid;
      std::size_t b = v.find(" b=") + 3;
      v[b + 10] = v[b + 10] == 'A' ? 'B' : 'A';
      Case("bad-b", "fail", "one base64 character of b= changed", v + message);
    }
    Case("bad-bh", "fail", "bh= is the hash of another body (signed over it, so only bh fails)",
         Sign(message, rsa("s=r2048; "), rsa2048, Canonicalization::kSimple) + message);
    Case("b-not-base64", "permerror", "b= value is not base64 (§3.5 syntax)",
         valid.substr(0, valid.find(" b=") + 3) + "!!!notbase64!!!\r\n" + message);
    Case("wrong-key", "fail", "signed with another RSA key than s=r2048 publishes",
         Sign(message, rsa("s=r2048; "), rsa2048_other) + message);

    // Tags missing or unknown (§3.5: v, a, b, bh, d, h, s are REQUIRED).
    for (const char* tag : {"v=1; ", "a=rsa-sha256; ", "d=example.com; ", "s=r2048; ",
                            "h=from:to:subject:date:message-id; "}) {
      std::string name = std::string(tag).substr(0, std::string(tag).find('='));
      Case("missing-" + name, "permerror", "required tag " + name + "= missing (§3.5)",
           Replace(valid, tag, "") + message);
    }
    {
      std::size_t bh = valid.find("bh=");
      std::size_t end = valid.find("; ", bh) + 2;
      Case("missing-bh", "permerror", "required tag bh= missing (§3.5)",
           valid.substr(0, bh) + valid.substr(end) + message);
      Case("missing-b", "permerror", "required tag b= missing (§3.5)",
           valid.substr(0, valid.find(" b=")) + "\r\n" + message);
    }
    Case("version-2", "permerror", "v=2 (§6.1.1: v= other than 1 is PERMFAIL)",
         Replace(valid, "v=1;", "v=2;") + message);
    Case("unknown-algorithm", "permerror", "a=rsa-sha512 (§6.1.1 unsupported algorithm)",
         Replace(valid, "a=rsa-sha256", "a=rsa-sha512") + message);
    Case("unknown-canonicalization", "permerror", "c=relaxed/fancy (§3.5)",
         Replace(valid, "c=relaxed/relaxed", "c=relaxed/fancy") + message);
    Case("from-not-signed", "permerror", "h= without From (§6.1.1 From field not signed)",
         Replace(valid, "h=from:to:", "h=to:") + message);

    // Times (both verifiers read kNow).
    Case("x-expired", "fail", "x= an hour before now (§3.5, §6.1.1 signature expired)",
         Sign(message,
              rr + "s=r2048; t=" + std::to_string(kNow - 7200) + "; x=" +
                  std::to_string(kNow - 3600) + "; " + h + "bh={bh}; b=",
              rsa2048) +
             message);
    Case("x-before-t", "permerror", "x= earlier than t= (§3.5: x= MUST be greater than t=)",
         Replace(valid, t, t + "x=" + std::to_string(kNow - 1) + "; ") + message);
    Case("x-before-t-both-future", "permerror",
         "t= two hours ahead, x= one hour ahead: x= not greater than t= (§3.5)",
         Replace(valid, t,
                 "t=" + std::to_string(kNow + 7200) + "; x=" + std::to_string(kNow + 3600) +
                     "; ") +
             message);
    Case("future-t", "pass",
         "t= a day after now (§3.5: verifiers MAY ignore signatures with a future timestamp)",
         Sign(message,
              rr + "s=r2048; t=" + std::to_string(kNow + 86400) + "; " + h + "bh={bh}; b=",
              rsa2048) +
             message);

    // Body length.
    Case("l-longer-than-body", "fail", "l=1000, beyond the canonical body (§3.5, §6.1.3)",
         Sign(message, rsa("s=r2048; l=1000; "), rsa2048) + message);

    // Identities and key records.
    Case("i-not-under-d", "permerror",
         "i=alice@example.org with d=example.com (§6.1.1 domain mismatch)",
         Replace(valid, "s=r2048; ", "s=r2048; i=alice@example.org; ") + message);
    Case("no-key-record", "permerror", "s=nokey: the name is NXDOMAIN (§6.1.2 step 3)",
         Sign(message, rsa("s=nokey; "), rsa2048) + message);
    Case("key-tempfail", "temperror", "s=tempfail: the lookup SERVFAILs (§6.1.2 step 2)",
         Sign(message, rsa("s=tempfail; "), rsa2048) + message);
    Case("key-revoked", "permerror", "key record with empty p= (§3.6.1: revoked)",
         Sign(message, rsa("s=revoked; "), rsa2048) + message);
    Case("key-syntax-error", "permerror", "key record p= not base64 (§6.1.2 step 4)",
         Sign(message, rsa("s=badkey; "), rsa2048) + message);
    Case("key-h-sha1-only", "permerror",
         "key record h=sha1 and a=rsa-sha256 (§3.6.1, §6.1.2 step 6)",
         Sign(message, rsa("s=sha1only; "), rsa2048) + message);
    Case("key-k-mismatch", "permerror",
         "rsa-sha256 signature, key record k=ed25519 (§6.1.2 step 7)",
         Sign(message, rsa("s=kmismatch; "), rsa2048) + message);
    Case("key-t-s-subdomain-i", "permerror",
         "key record t=s and i= in a subdomain of d= (§3.6.1)",
         Sign(message, rsa("s=strict; i=alice@mail.example.com; "), rsa2048) + message);
    Case("key-t-s-exact-i", "pass", "key record t=s and i= exactly at d= (§3.6.1)",
         Sign(message, rsa("s=strict; i=alice@example.com; "), rsa2048) + message);
    Case("key-not-email-service", "permerror", "key record s=http (§3.6.1 service type)",
         Sign(message, rsa("s=http; "), rsa2048) + message);

    const std::string rsa_p = rsa2048.KeyRecordText().substr(rsa2048.KeyRecordText().find("p="));
    const std::string ed_p = ed.KeyRecordText().substr(ed.KeyRecordText().find("p="));
    std::string keys;
    auto key = [&](const std::string& selector, const std::string& record) {
      keys += selector + "._domainkey.example.com\t" + record + "\n";
    };
    key("r2048", rsa2048.KeyRecordText());
    key("r1024", rsa1024.KeyRecordText());
    key("ed", ed.KeyRecordText());
    key("tempfail", "TEMPFAIL");
    key("revoked", "v=DKIM1; k=rsa; p=");
    key("badkey", "v=DKIM1; k=rsa; p=@@not-base64@@");
    key("sha1only", "v=DKIM1; k=rsa; h=sha1; " + rsa_p);
    key("kmismatch", "v=DKIM1; k=ed25519; " + ed_p);
    key("strict", "v=DKIM1; k=rsa; t=s; " + rsa_p);
    key("http", "v=DKIM1; k=rsa; s=http; " + rsa_p);
    Write(dir + "/keys.txt",
          "# selector._domainkey.example.com <TAB> TXT text (TEMPFAIL: the lookup fails)\n" +
              keys);
    Write(dir + "/cases.txt",
          "# case <TAB> RFC 6376 answer <TAB> what it tests (opendkim_peer_corpus_gen.cc)\n" +
              cases);
  }
};

}  // namespace
}  // namespace mxkit::auth::dkim

int main(int argc, char** argv) {
  using namespace mxkit::auth::dkim;
  if (argc != 2) {
    std::cerr << "usage: opendkim_peer_corpus_gen DIR (with DIR/keys/*.pem)\n";
    return 2;
  }
  std::string dir = argv[1];
  std::string ed_pem = Read(dir + "/keys/ed25519.pem");
  // PKCS#8 Ed25519 (RFC 8410 §7): the seed is the DER's last 32 bytes.
  std::string b64;
  std::istringstream lines(ed_pem);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("-----", 0) != 0) b64 += line;
  }
  mxkit::base::Base64Result der = mxkit::base::DecodeBase64(b64);
  if (!der.ok() || der.bytes.size() != 48) {
    std::cerr << "keys/ed25519.pem is not a PKCS#8 Ed25519 key\n";
    return 1;
  }
  Generator g{dir,
              Must(SigningKey::RsaFromPem(Read(dir + "/keys/rsa2048.pem")), "rsa2048.pem"),
              Must(SigningKey::RsaFromPem(Read(dir + "/keys/rsa2048-other.pem")), "other"),
              Must(SigningKey::RsaFromPem(Read(dir + "/keys/rsa1024.pem")), "rsa1024.pem"),
              Must(SigningKey::Ed25519FromSeed(der.bytes.substr(16)), "ed25519.pem"),
              ""};
  g.Run();
  std::cout << "wrote " << dir << "\n";
  return 0;
}
