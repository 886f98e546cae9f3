// A DNS server for tests: zone files (dns/zone.h syntax) served through
// fakemx's DnsListener, with the faults a scenario would add given on the
// command line. It lets dig, dnspython, dnsperf and our own resolver talk
// to the responder without a scenario.
//
//   dns_zone_server --listen=127.0.0.1:0 --zone=example.test=FILE
//       [--authenticated=example.test] [--fault=NAME[/TYPE]=KIND]
//       [--tcp-idle-timeout-ms=N]
//
// KIND is nxdomain, nodata, servfail, refused, timeout or truncate; a zone
// file's $TIMEOUT and $SERVFAIL lines become timeout and servfail faults.
// Prints "dns udp HOST:PORT", "dns tcp HOST:PORT" and then "ready" on
// stdout, and serves until SIGINT or SIGTERM. Exit 1 with a message on
// stderr for a bad flag, an unreadable or invalid zone, or a bind failure.

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "base/absl_interop.h"
#include "dns/authoritative.h"
#include "dns/message.h"
#include "dns/resolver.h"
#include "dns/zone.h"
#include "fakemx/dns_listener.h"
#include "fakemx/flags.h"

namespace {

using namespace mxkit;

std::optional<dns::RrType> TypeByName(std::string_view name) {
  for (dns::RrType type : {dns::RrType::kA, dns::RrType::kNs, dns::RrType::kCname,
                           dns::RrType::kSoa, dns::RrType::kPtr, dns::RrType::kMx,
                           dns::RrType::kTxt, dns::RrType::kAaaa, dns::RrType::kTlsa}) {
    if (absl::EqualsIgnoreCase(dns::RrTypeName(type), base::Av(name))) return type;
  }
  return std::nullopt;
}

std::optional<dns::ServeFault> FaultByName(std::string_view name) {
  for (dns::ServeFault fault : {dns::ServeFault::kNxDomain, dns::ServeFault::kNoData,
                                dns::ServeFault::kServfail, dns::ServeFault::kRefused,
                                dns::ServeFault::kTimeout, dns::ServeFault::kTruncate}) {
    if (dns::ServeFaultName(fault) == name) return fault;
  }
  return std::nullopt;
}

int Fail(const std::string& message) {
  std::cerr << "dns_zone_server: " << message << "\n";
  return 1;
}

bool Below(std::string_view name, std::string_view apex) {
  return dns::NamesEqual(name, apex) ||
         (name.size() > apex.size() + 1 && name[name.size() - apex.size() - 1] == '.' &&
          dns::NamesEqual(name.substr(name.size() - apex.size()), apex));
}

}  // namespace

namespace dns = mxkit::dns;

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  std::vector<dns::ServedZone> zones;
  std::vector<dns::ServedFault> faults;
  mxkit::fakemx::DnsListenerOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string_view flag) -> std::optional<std::string_view> {
      if (arg.substr(0, flag.size()) == flag) return arg.substr(flag.size());
      return std::nullopt;
    };
    if (auto v = value("--listen=")) {
      listen = std::string(*v);
    } else if (auto v = value("--zone=")) {
      size_t eq = v->find('=');
      if (eq == std::string_view::npos) return Fail("--zone wants APEX=FILE");
      std::string apex(v->substr(0, eq)), file(v->substr(eq + 1));
      std::ifstream in(file, std::ios::binary);
      if (!in) return Fail("cannot read zone file " + file);
      std::stringstream text;
      text << in.rdbuf();
      absl::StatusOr<dns::Zone> zone = dns::ParseZone(text.str(), file, apex);
      if (!zone.ok()) return Fail(base::StatusText(zone.status()));
      dns::ServedZone served;
      served.apex = apex;
      served.records = std::move(zone->records);
      for (const dns::ZoneFault& f : zone->faults) {
        served.faults.push_back(dns::ServedFault{
            f.name, f.type,
            f.fault == dns::Fault::kTimeout ? dns::ServeFault::kTimeout
                                            : dns::ServeFault::kServfail});
      }
      zones.push_back(std::move(served));
    } else if (auto v = value("--authenticated=")) {
      bool found = false;
      for (dns::ServedZone& z : zones) {
        if (dns::NamesEqual(z.apex, *v)) z.authenticated = found = true;
      }
      if (!found) return Fail("--authenticated=" + std::string(*v) + ": no such --zone before it");
    } else if (auto v = value("--fault=")) {
      size_t eq = v->rfind('=');
      if (eq == std::string_view::npos) return Fail("--fault wants NAME[/TYPE]=KIND");
      std::string_view target = v->substr(0, eq);
      std::optional<dns::ServeFault> kind = FaultByName(v->substr(eq + 1));
      if (!kind) return Fail("--fault: unknown kind \"" + std::string(v->substr(eq + 1)) + "\"");
      dns::ServedFault fault{std::string(target), std::nullopt, *kind};
      if (size_t slash = target.find('/'); slash != std::string_view::npos) {
        fault.name = std::string(target.substr(0, slash));
        fault.type = TypeByName(target.substr(slash + 1));
        if (!fault.type) return Fail("--fault: unknown type in \"" + std::string(target) + "\"");
      }
      if (!fault.name.empty() && fault.name.back() == '.') fault.name.pop_back();
      faults.push_back(std::move(fault));
    } else if (auto v = value("--tcp-idle-timeout-ms=")) {
      uint32_t ms = 0;
      if (!absl::SimpleAtoi(base::Av(*v), &ms) || ms == 0) {
        return Fail("--tcp-idle-timeout-ms wants a positive number");
      }
      options.tcp_idle_timeout = std::chrono::milliseconds(ms);
    } else {
      return Fail("unknown argument \"" + std::string(arg) + "\"");
    }
  }
  if (zones.empty()) return Fail("no --zone given");
  // A fault goes to the deepest zone holding its name.
  for (dns::ServedFault& fault : faults) {
    dns::ServedZone* best = nullptr;
    for (dns::ServedZone& z : zones) {
      if (Below(fault.name, z.apex) && (best == nullptr || z.apex.size() > best->apex.size())) {
        best = &z;
      }
    }
    if (best == nullptr) return Fail("--fault " + fault.name + " is in no --zone");
    best->faults.push_back(std::move(fault));
  }
  std::string host;
  uint16_t port = 0;
  if (absl::Status s = mxkit::fakemx::ParseHostPort(listen, &host, &port); !s.ok()) {
    return Fail("--listen: " + base::StatusText(s));
  }
  boost::system::error_code ec;
  options.address = boost::asio::ip::make_address(host, ec);
  if (ec) return Fail("--listen: \"" + host + "\" is not an IP address");
  options.port = port;

  absl::StatusOr<dns::AuthoritativeResponder> responder =
      dns::AuthoritativeResponder::Create(std::move(zones));
  if (!responder.ok()) return Fail(base::StatusText(responder.status()));
  boost::asio::io_context io;
  auto listener = mxkit::fakemx::DnsListener::Listen(io, *std::move(responder), options);
  if (!listener.ok()) return Fail(base::StatusText(listener.status()));
  auto udp = (*listener)->udp_endpoint();
  auto tcp = (*listener)->tcp_endpoint();
  auto show = [](const auto& e) {
    return e.address().is_v6() ? "[" + e.address().to_string() + "]:" + std::to_string(e.port())
                               : e.address().to_string() + ":" + std::to_string(e.port());
  };
  std::cout << "dns udp " << show(udp) << "\ndns tcp " << show(tcp) << "\nready" << std::endl;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    (*listener)->Stop();
    io.stop();
  });
  io.run();
  return 0;
}
