// Writes the seed corpora of tls_engine_server_fuzzer and
// tls_engine_client_fuzzer: real flights recorded from in-memory handshakes
// between a client and a server Engine, framed as fuzz/tls_engine_input.h
// says. Run once and commit the output:
//
//   bazel run //fuzz:tls_engine_seeds -- $PWD/fuzz/corpus
//
// A recorded flight never completes a handshake on replay (the peer's
// randomness differs each time), but it carries the fuzzer past record and
// message parsing into ServerHello, certificate and key-exchange processing.

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>

#include "fuzz/tls_engine_input.h"
#include "tls/engine.h"
#include "tls/testdata/certs.h"

namespace {

using namespace mxkit;
using tls::TlsVersion;

struct Transcript {
  std::string client_to_server;
  std::string server_to_client;
};

Transcript Record(std::shared_ptr<const tls::ClientContext> client_ctx,
                  std::shared_ptr<const tls::ServerContext> server_ctx) {
  auto client = tls::Engine::NewClient(client_ctx, {"mx.test", "mx.test"});
  auto server = tls::Engine::NewServer(server_ctx);
  if (!client.ok() || !server.ok()) {
    std::fprintf(stderr, "cannot make engines\n");
    std::exit(1);
  }
  Transcript t;
  bool wrote = false;
  for (int round = 0; round < 20; ++round) {
    if (client->state() == tls::EngineState::kEstablished && !wrote) {
      (void)client->WritePlaintext("EHLO seed.test\r\n");
      client->Close();
      wrote = true;
    }
    std::string c = client->TakeCiphertext();
    t.client_to_server += c;
    server->FeedCiphertext(c);
    if (server->state() == tls::EngineState::kEstablished) {
      (void)server->WritePlaintext("250 mx.test\r\n");
    }
    std::string s = server->TakeCiphertext();
    t.server_to_client += s;
    client->FeedCiphertext(s);
    if (c.empty() && s.empty()) break;
  }
  return t;
}

void Write(const std::string& dir, const std::string& name, uint8_t flags, uint8_t chunk,
           const std::string& bytes) {
  const std::string path = dir + "/" + name;
  std::ofstream out(path, std::ios::binary);
  out.put(static_cast<char>(flags));
  out.put(static_cast<char>(chunk));
  out << bytes;
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

std::shared_ptr<const tls::ClientContext> Client(tls::VersionRange versions) {
  tls::ClientContextOptions o;
  o.versions = versions;
  o.verify = tls::ClientVerify::kRecord;
  o.trusted_roots_pem = tls::testdata::k_ca_pem;
  return *tls::ClientContext::Create(o);
}

std::shared_ptr<const tls::ServerContext> Server(tls::VersionRange versions, bool rsa) {
  tls::ServerContextOptions o;
  o.versions = versions;
  o.certificate_chain_pem = rsa ? tls::testdata::k_rsa_pem : tls::testdata::k_ecdsa_pem;
  o.private_key_pem = rsa ? tls::testdata::k_rsa_key : tls::testdata::k_ecdsa_key;
  return *tls::ServerContext::Create(o);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tls_engine_seeds CORPUS_ROOT (e.g. $PWD/fuzz/corpus)\n");
    return 2;
  }
  const std::string server_dir = std::string(argv[1]) + "/tls_engine_server";
  const std::string client_dir = std::string(argv[1]) + "/tls_engine_client";

  // Each fuzzer configuration (flags bits 0-2) against a matching peer.
  for (uint8_t flags = 0; flags < 8; ++flags) {
    const Transcript t = Record(fuzz::FuzzClientContext(flags), fuzz::FuzzServerContext(flags));
    const std::string tag = "config" + std::to_string(flags);
    Write(server_dir, tag + "_whole", flags, 0, t.client_to_server);
    Write(server_dir, tag + "_chunked_eof_echo", flags | fuzz::kFlagEof | fuzz::kFlagEcho, 7,
          t.client_to_server);
    Write(client_dir, tag + "_whole", flags, 0, t.server_to_client);
    Write(client_dir, tag + "_chunked_eof_echo", flags | fuzz::kFlagEof | fuzz::kFlagEcho, 5,
          t.server_to_client);
  }
  // Older versions: flags 3 is the 1.0-1.3 range on both roles.
  const std::pair<const char*, TlsVersion> old[] = {{"tls10", TlsVersion::kTls10},
                                                    {"tls11", TlsVersion::kTls11}};
  for (const auto& [name, version] : old) {
    // The server fuzzer sees ClientHellos of clients that stop at `version`.
    const Transcript to_server =
        Record(Client({TlsVersion::kTls10, version}), fuzz::FuzzServerContext(3));
    Write(server_dir, std::string(name) + "_client", 3, 0, to_server.client_to_server);
    // The client fuzzer sees the flights of servers that stop at `version`.
    for (bool rsa : {false, true}) {
      const Transcript to_client = Record(fuzz::FuzzClientContext(3), Server({version, version}, rsa));
      Write(client_dir, std::string(name) + (rsa ? "_rsa" : "_ecdsa") + "_server", 3, 0,
            to_client.server_to_client);
    }
  }
  // A server refusing the client's versions answers with an alert.
  const Transcript refused =
      Record(fuzz::FuzzClientContext(0), Server({TlsVersion::kTls10, TlsVersion::kTls10}, false));
  Write(client_dir, "protocol_version_alert", 0, 0, refused.server_to_client);
  // A client refusing the certificate as OpenSSL does (openssl s_client
  // -verify_return_error): its ClientHello, then a plaintext fatal
  // certificate_expired alert, which in TLS 1.3 the server cannot decrypt
  // and tls/engine.cc's record scanner recognises.
  for (const auto& [name, flags] : {std::pair<const char*, uint8_t>{"tls13", 1},
                                    std::pair<const char*, uint8_t>{"tls12", 2}}) {
    const Transcript t = Record(fuzz::FuzzClientContext(flags), fuzz::FuzzServerContext(flags));
    // The first record, the ClientHello: header (5 bytes) and its length.
    const std::string& c = t.client_to_server;
    const size_t length = static_cast<size_t>(static_cast<uint8_t>(c[3])) << 8 |
                          static_cast<uint8_t>(c[4]);
    const std::string hello = c.substr(0, 5 + length);
    Write(server_dir, std::string("client_refuses_certificate_") + name, flags, 0,
          hello + std::string("\x15\x03\x03\x00\x02\x02\x2d", 7));
  }
  // Plaintext SMTP where TLS was expected, both ways.
  Write(server_dir, "smtp_plaintext", 0, 0, "EHLO client.test\r\nMAIL FROM:<a@b.test>\r\n");
  Write(client_dir, "smtp_plaintext", 0, 0, "220 mx.test ESMTP\r\n250 ok\r\n");
  return 0;
}
