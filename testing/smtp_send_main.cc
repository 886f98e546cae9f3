// smtp_send: sends one message with our own client (smtp::ClientSession +
// tls::Engine, through testing/smtp_client_runner) and prints what it
// observed, one "key=value" line each, for end-to-end tests in tests/ that
// need to know what happened at the protocol level (TLS facts, reply bytes
// injected after the STARTTLS 220) rather than a real client's summary.
//
//   smtp_send --port=N [--starttls=required|opportunistic|never]
//             [--implicit-tls] [--ca=FILE] [--verify=require|record|none]
//             [--hostname=NAME] [--timeout-ms=N]
//
// Exit status: 0 when the session ran to an outcome (whatever it was; the
// test reads it), 2 for bad usage, 1 for an I/O error or timeout.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "testing/smtp_client_runner.h"
#include "tls/version.h"

namespace mxkit::testing {
namespace {

int Usage(std::string_view why) {
  std::fprintf(stderr,
               "smtp_send: %.*s\nusage: smtp_send --port=N "
               "[--starttls=required|opportunistic|never] [--implicit-tls] [--ca=FILE] "
               "[--verify=require|record|none] [--hostname=NAME] [--timeout-ms=N]\n",
               static_cast<int>(why.size()), why.data());
  return 2;
}

std::string_view StatusName(smtp::TransactionStatus status) {
  switch (status) {
    case smtp::TransactionStatus::kDelivered: return "delivered";
    case smtp::TransactionStatus::kPartiallyDelivered: return "partially-delivered";
    case smtp::TransactionStatus::kTemporaryFailure: return "temporary-failure";
    case smtp::TransactionStatus::kPermanentFailure: return "permanent-failure";
  }
  return "unknown";
}

int Main(int argc, char** argv) {
  long port = -1;
  std::string starttls = "required", verify = "require", ca_file, hostname = "mx.test";
  bool implicit_tls = false;
  long timeout_ms = 10000;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    const std::string value = eq == std::string_view::npos ? "" : std::string(arg.substr(eq + 1));
    char* end = nullptr;
    if (name == "--port") {
      port = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || port < 1 || port > 65535) {
        return Usage("--port=" + value + ": not a port number (1-65535)");
      }
    } else if (name == "--starttls") {
      starttls = value;
    } else if (name == "--implicit-tls" && eq == std::string_view::npos) {
      implicit_tls = true;
    } else if (name == "--ca") {
      ca_file = value;
    } else if (name == "--verify") {
      verify = value;
    } else if (name == "--hostname") {
      hostname = value;
    } else if (name == "--timeout-ms") {
      timeout_ms = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || timeout_ms < 1 || timeout_ms > 600000) {
        return Usage("--timeout-ms=" + value + ": not a number of milliseconds (1-600000)");
      }
    } else {
      return Usage("unknown argument '" + std::string(arg) + "'");
    }
  }
  if (port < 0) return Usage("--port is required");

  SmtpClientRunOptions options;
  options.session.helo_domain = "client.test";
  if (starttls == "required") {
    options.session.starttls = smtp::StartTlsMode::kRequired;
  } else if (starttls == "opportunistic") {
    options.session.starttls = smtp::StartTlsMode::kOpportunistic;
  } else if (starttls == "never") {
    options.session.starttls = smtp::StartTlsMode::kNever;
  } else {
    return Usage("--starttls=" + starttls + ": not one of required, opportunistic, never");
  }
  tls::ClientContextOptions tls_options;
  tls_options.versions = {tls::TlsVersion::kTls10, tls::TlsVersion::kTls13};
  if (verify == "require") {
    tls_options.verify = tls::ClientVerify::kRequire;
  } else if (verify == "record") {
    tls_options.verify = tls::ClientVerify::kRecord;
  } else if (verify == "none") {
    tls_options.verify = tls::ClientVerify::kNone;
  } else {
    return Usage("--verify=" + verify + ": not one of require, record, none");
  }
  if (!ca_file.empty()) {
    std::ifstream in(ca_file, std::ios::binary);
    if (!in) return Usage("--ca=" + ca_file + ": cannot be read");
    std::ostringstream pem;
    pem << in.rdbuf();
    tls_options.trusted_roots_pem = pem.str();
  }
  absl::StatusOr<std::shared_ptr<const tls::ClientContext>> context =
      tls::ClientContext::Create(tls_options);
  if (!context.ok()) return Usage(context.status().ToString());
  options.tls_context = *context;
  options.tls_connection = {hostname, hostname};
  options.implicit_tls = implicit_tls;
  options.timeout = std::chrono::milliseconds(timeout_ms);
  smtp::OutgoingMessage message;
  message.reverse_path = "sender@client.test";
  message.recipients.push_back({"rcpt@" + hostname, {}});
  message.content = "From: <sender@client.test>\r\nTo: <rcpt@" + hostname +
                    ">\r\nSubject: smtp_send\r\n\r\nSent by mxkit's testing/smtp_send.\r\n";
  options.messages.push_back(std::move(message));

  absl::StatusOr<int> fd = ConnectLoopback(static_cast<uint16_t>(port));
  if (!fd.ok()) {
    std::fprintf(stderr, "smtp_send: %s\n", fd.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<SmtpClientRun> run = RunSmtpClient(*fd, std::move(options));
  ::close(*fd);
  if (!run.ok()) {
    std::fprintf(stderr, "smtp_send: %s\n", run.status().ToString().c_str());
    return 1;
  }
  std::printf("outcome=%s\n", std::string(smtp::SessionOutcomeName(run->outcome)).c_str());
  std::printf("detail=%s\n", run->detail.c_str());
  std::printf("tls=%s\n", run->tls_established ? "yes" : "no");
  if (run->tls_info) {
    std::printf("tls_version=%s\n", std::string(tls::VersionName(run->tls_info->version)).c_str());
    std::printf("tls_cipher=%s\n", run->tls_info->cipher.c_str());
    std::printf("verify_result=%ld\n", run->tls_info->verify_result);
  }
  if (run->tls_error) std::printf("tls_error=%s\n", run->tls_error->ToString().c_str());
  std::printf("injected_reply_bytes=%zu\n", run->injected_reply_bytes);
  for (const smtp::TransactionResult& result : run->results) {
    std::printf("transaction=%s\n", std::string(StatusName(result.status)).c_str());
  }
  for (const smtp::ReplyEvent& reply : run->replies) {
    std::printf("reply=%s -> %d\n", reply.command.c_str(), reply.reply.code);
  }
  return 0;
}

}  // namespace
}  // namespace mxkit::testing

int main(int argc, char** argv) { return mxkit::testing::Main(argc, argv); }
