#include "probe/probe.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/address.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/write.hpp"
#include "absl/time/clock.h"
#include "dns/idna.h"
#include "policy/chain.h"
#include "policy/mta_sts.h"
#include "tls/version.h"

namespace mxkit::probe {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// RFC 1035 §2.3.4.
constexpr size_t kMaxLabel = 63;
constexpr size_t kMaxName = 253;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

absl::Status CheckHostName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("empty host name");
  if (name.size() > kMaxName) {
    return absl::InvalidArgumentError(
        absl::StrCat("host name of ", name.size(), " octets; at most 253 (RFC 1035 §2.3.4)"));
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    const std::string_view label = name.substr(start, dot - start);
    if (label.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("empty label at offset ", start));
    }
    if (label.size() > kMaxLabel) {
      return absl::InvalidArgumentError(absl::StrCat(
          "label at offset ", start, " has ", label.size(), " octets; at most 63 (RFC 1035 §2.3.4)"));
    }
    for (size_t i = 0; i < label.size(); ++i) {
      const char c = label[i];
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_';
      if (!ok) {
        return absl::InvalidArgumentError(
            absl::StrCat("character 0x", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2),
                         " at offset ", start + i, " is not in a host name (RFC 1123 §2.1)"));
      }
    }
    start = dot + 1;
  }
  return absl::OkStatus();
}

std::string FormatAddress(const tcp::endpoint& e) {
  const std::string a = e.address().to_string();
  return e.address().is_v6() ? absl::StrCat("[", a, "]:", e.port()) : absl::StrCat(a, ":", e.port());
}

std::string StatusName(dns::LookupStatus s) {
  switch (s) {
    case dns::LookupStatus::kAnswer: return "answer";
    case dns::LookupStatus::kNxDomain: return "NXDOMAIN";
    case dns::LookupStatus::kNoData: return "no data";
    case dns::LookupStatus::kTemporaryFailure: return "temporary failure";
    case dns::LookupStatus::kPermanentFailure: return "permanent failure";
  }
  return "unknown";
}

std::string LookupText(std::string_view name, dns::RrType type, const dns::LookupResult& r) {
  std::string s = absl::StrCat(std::string(name), " ", dns::RrTypeName(type), ": ", StatusName(r.status));
  if (!r.detail.empty()) absl::StrAppend(&s, " (", r.detail, ")");
  return s;
}

std::string_view StageName(HopStage s) {
  switch (s) {
    case HopStage::kGreeting: return "the greeting";
    case HopStage::kSmtp: return "a reply";
    case HopStage::kTlsHandshake: return "the TLS handshake";
    case HopStage::kSmtpOverTls: return "a reply inside TLS";
    case HopStage::kDone: return "the close";
  }
  return "the server";
}

// One probe, alive until `done` has run.
class Prober : public std::enable_shared_from_this<Prober> {
 public:
  Prober(asio::io_context& io, dns::Resolver& resolver, ProbeTarget target, ProbeOptions options,
         std::function<void(ProbeReport)> done)
      : io_(io), resolver_(resolver), options_(std::move(options)), done_(std::move(done)),
        socket_(io), timer_(io) {
    report_.target = std::move(target);
    report_.port = report_.target.port.value_or(options_.port);
  }

  void Start() {
    const ProbeTarget& t = report_.target;
    if (t.is_ip) {
      MxReport mx;
      mx.host = t.name;
      mx.addresses.push_back(t.name);
      mx.mx_authenticated = true;
      report_.mx.push_back(std::move(mx));
      report_.mx_lookup_detail = "an IP address: no MX lookup";
      return NextMx(0);
    }
    if (!t.mx_lookup()) {
      MxReport mx;
      mx.host = t.name;
      mx.mx_authenticated = true;  // no MX involved (RFC 7672 §2.2.2 only)
      report_.mx.push_back(std::move(mx));
      report_.mx_lookup_detail = "a host with a port: no MX lookup";
      return ResolveHost(0);
    }
    auto self = shared_from_this();
    resolver_.Lookup(t.name, dns::RrType::kMx,
                     [self](dns::LookupResult r) { self->OnMx(std::move(r)); });
  }

 private:
  void OnMx(dns::LookupResult r) {
    const std::string& domain = report_.target.name;
    report_.mx_lookup_detail = LookupText(domain, dns::RrType::kMx, r);
    switch (r.status) {
      case dns::LookupStatus::kAnswer: break;
      case dns::LookupStatus::kNoData: {
        // RFC 5321 §5.1: no MX, so the domain itself is the mail host.
        MxReport mx;
        mx.host = domain;
        mx.implicit_mx = true;
        mx.mx_authenticated = r.authenticated;
        report_.mx.push_back(std::move(mx));
        return ResolveHost(0);
      }
      case dns::LookupStatus::kNxDomain:
        return Fail(ProbeFailure::kNameNotFound, absl::StrCat(domain, ": no such domain (NXDOMAIN)"));
      default:
        return Fail(ProbeFailure::kDnsFailure,
                    absl::StrCat("the MX lookup failed: ", report_.mx_lookup_detail));
    }
    std::vector<dns::MxData> mxs;
    for (const dns::ResourceRecord& rr : r.records) {
      if (const auto* m = std::get_if<dns::MxData>(&rr.data)) mxs.push_back(*m);
    }
    // RFC 7505 §3: a single MX with preference 0 and the root as exchange.
    // (With other MX records beside it, §4.3 says it is a misconfiguration;
    // the root is then skipped like any unusable exchange.)
    if (mxs.size() == 1 && mxs[0].exchange.empty()) {
      return Fail(ProbeFailure::kNullMx,
                  absl::StrCat(domain, " publishes a null MX (\"MX 0 .\", RFC 7505): it accepts no mail"));
    }
    // Preference order (RFC 5321 §5.1). Equal preferences stay in the order
    // served instead of being shuffled, so two runs probe the same way.
    std::stable_sort(mxs.begin(), mxs.end(),
                     [](const dns::MxData& a, const dns::MxData& b) { return a.preference < b.preference; });
    for (const dns::MxData& m : mxs) {
      if (m.exchange.empty()) continue;
      if (report_.mx.size() == kMaxMxHosts) {
        report_.mx_truncated = true;
        break;
      }
      MxReport mx;
      mx.host = m.exchange;
      mx.preference = m.preference;
      mx.mx_authenticated = r.authenticated;
      report_.mx.push_back(std::move(mx));
    }
    if (report_.mx.empty()) {
      return Fail(ProbeFailure::kNameNotFound, absl::StrCat(domain, ": no usable MX record"));
    }
    ResolveHost(0);
  }

  // A then AAAA for report_.mx[i], then the next host; then connect.
  void ResolveHost(size_t i) {
    if (i == report_.mx.size()) return AfterResolve();
    auto self = shared_from_this();
    resolver_.Lookup(report_.mx[i].host, dns::RrType::kA, [self, i](dns::LookupResult a) {
      self->OnAddresses(i, dns::RrType::kA, a);
      self->resolver_.Lookup(self->report_.mx[i].host, dns::RrType::kAaaa,
                             [self, i](dns::LookupResult aaaa) {
                               self->OnAddresses(i, dns::RrType::kAaaa, aaaa);
                               // Posted: an inline resolver would otherwise
                               // recurse once per MX host.
                               asio::post(self->io_, [self, i] { self->ResolveHost(i + 1); });
                             });
    });
  }

  void OnAddresses(size_t i, dns::RrType type, const dns::LookupResult& r) {
    MxReport& mx = report_.mx[i];
    // RFC 7672 §2.2.2: both address RRsets (or their denial) must be
    // secure for DANE; A is asked first, so it starts the conjunction.
    const bool answered = r.ok() || r.status == dns::LookupStatus::kNoData;
    const bool secure = answered && r.authenticated;
    mx.addresses_authenticated = type == dns::RrType::kA ? secure : mx.addresses_authenticated && secure;
    if (!r.ok()) {
      if (r.status != dns::LookupStatus::kNoData) {
        if (!mx.address_error.empty()) mx.address_error += "; ";
        mx.address_error += LookupText(mx.host, type, r);
      }
      return;
    }
    for (const dns::ResourceRecord& rr : r.records) {
      if (mx.addresses.size() == kMaxAddressesPerHost) break;
      if (const auto* a = std::get_if<dns::AData>(&rr.data)) {
        mx.addresses.push_back(asio::ip::address_v4(a->address).to_string());
      } else if (const auto* aaaa = std::get_if<dns::AaaaData>(&rr.data)) {
        mx.addresses.push_back(asio::ip::address_v6(aaaa->address).to_string());
      }
    }
  }

  void AfterResolve() {
    bool any = false, dns_failed = false;
    for (const MxReport& mx : report_.mx) {
      any = any || !mx.addresses.empty();
      dns_failed = dns_failed || !mx.address_error.empty();
    }
    if (!any) {
      std::string why;
      for (const MxReport& mx : report_.mx) {
        absl::StrAppend(&why, why.empty() ? "" : "; ", mx.host, ": ",
                        mx.address_error.empty() ? "no A or AAAA record" : mx.address_error);
      }
      // Postfix: "Host or domain name not found" unless a lookup failed.
      return Fail(dns_failed ? ProbeFailure::kDnsFailure : ProbeFailure::kNameNotFound,
                  absl::StrCat("no address to connect to: ", why));
    }
    if (options_.evaluate_policies && report_.target.mx_lookup()) return StartMtaSts();
    NextMx(0);
  }

  // ---- MTA-STS (RFC 8461 §3) ----

  void StartMtaSts() {
    MtaStsReport& sts = report_.mta_sts;
    sts.applicable = true;
    const std::string name = "_mta-sts." + report_.target.name;
    auto self = shared_from_this();
    resolver_.Lookup(name, dns::RrType::kTxt, [self, name](dns::LookupResult r) {
      self->OnStsTxt(name, std::move(r));
    });
  }

  void NoSts(policy::MtaStsObservation::State state, std::optional<policy::TlsResultType> failure,
             std::string detail) {
    policy::MtaStsObservation& o = report_.mta_sts.observation;
    o.state = state;
    o.failure = failure;
    o.detail = std::move(detail);
    auto self = shared_from_this();
    asio::post(io_, [self] { self->NextMx(0); });
  }

  void OnStsTxt(const std::string& name, dns::LookupResult r) {
    MtaStsReport& sts = report_.mta_sts;
    sts.txt_detail = LookupText(name, dns::RrType::kTxt, r);
    if (!r.ok()) {
      // RFC 8461 §3.1: no record (or no usable answer) is no policy.
      return NoSts(policy::MtaStsObservation::State::kNoPolicy, std::nullopt,
                   "no MTA-STS TXT record: " + sts.txt_detail);
    }
    std::vector<std::string> texts;
    for (const dns::ResourceRecord& rr : r.records) {
      if (const auto* txt = std::get_if<dns::TxtData>(&rr.data)) {
        std::string joined;
        for (const std::string& part : txt->strings) joined += part;
        texts.push_back(std::move(joined));
      }
    }
    absl::StatusOr<policy::StsTxtRecord> record = policy::DiscoverStsTxtRecord(texts);
    if (!record.ok()) {
      return NoSts(policy::MtaStsObservation::State::kNoPolicy, std::nullopt,
                   absl::StrCat("no usable MTA-STS TXT record: ", record.status().message()));
    }
    sts.id = record->id;
    sts.policy_host = policy::kStsPolicyHostPrefix + report_.target.name;
    auto self = shared_from_this();
    resolver_.Lookup(sts.policy_host, dns::RrType::kA,
                     [self](dns::LookupResult a) { self->OnStsHost(std::move(a)); });
  }

  void OnStsHost(dns::LookupResult r) {
    MtaStsReport& sts = report_.mta_sts;
    for (const dns::ResourceRecord& rr : r.records) {
      if (const auto* a = std::get_if<dns::AData>(&rr.data)) {
        sts.policy_host_address = asio::ip::address_v4(a->address).to_string();
        break;
      }
    }
    if (sts.policy_host_address.empty()) {
      // RFC 8460 §4.3.2: the policy could not be fetched.
      return NoSts(policy::MtaStsObservation::State::kFailed,
                   policy::TlsResultType::kStsPolicyFetchError,
                   absl::StrCat("the policy host has no address: ",
                                LookupText(sts.policy_host, dns::RrType::kA, r)));
    }
    policy::StsFetchRequest request;
    request.policy_domain = report_.target.name;
    request.connect_address = sts.policy_host_address;
    request.connect_port = options_.mta_sts_port;
    request.trusted_roots_pem = options_.trusted_roots_pem;
    request.timeout = options_.mta_sts_timeout;
    auto self = shared_from_this();
    policy::AsyncFetchStsPolicy(io_, std::move(request), [self](policy::StsFetchResult f) {
      self->OnStsFetch(std::move(f));
    });
  }

  void OnStsFetch(policy::StsFetchResult f) {
    MtaStsReport& sts = report_.mta_sts;
    sts.fetch = f;
    if (f.ok() && f.policy) {
      policy::MtaStsObservation& o = sts.observation;
      o.state = policy::MtaStsObservation::State::kPolicy;
      o.policy = *f.policy;
      o.detail = f.detail;
      return NextMx(0);
    }
    NoSts(policy::MtaStsObservation::State::kFailed, f.failure, "the policy fetch failed: " + f.detail);
  }

  void NextMx(size_t i) {
    if (i == report_.mx.size()) return Finish();
    mx_ = i;
    address_ = 0;
    Connect();
  }

  void Connect() {
    MxReport& mx = report_.mx[mx_];
    if (address_ == mx.addresses.size()) return NextMx(mx_ + 1);
    boost::system::error_code ec;
    const asio::ip::address ip = asio::ip::make_address(mx.addresses[address_], ec);
    ConnectAttempt attempt;
    if (ec) {
      attempt.address = mx.addresses[address_];
      attempt.error = "not an IP address";
      mx.attempts.push_back(std::move(attempt));
      ++address_;
      return Connect();
    }
    const tcp::endpoint endpoint(ip, report_.port);
    attempt.address = FormatAddress(endpoint);
    mx.attempts.push_back(std::move(attempt));
    socket_ = tcp::socket(io_);
    start_ = Clock::now();
    timed_out_ = false;
    auto self = shared_from_this();
    ArmTimer(/*in_session=*/false);
    socket_.async_connect(endpoint, [self](boost::system::error_code ec) { self->OnConnect(ec); });
  }

  std::chrono::milliseconds SessionDeadline() const {
    return options_.session_deadline.value_or(kSessionDeadlineTimeouts * options_.timeout);
  }

  // Bounds the next wait by the per-wait timeout and, inside a session, by
  // what is left of the session deadline. Each wait has a generation: a
  // timer that fired while its operation was completing is queued with
  // success and must not cancel the wait after it.
  void ArmTimer(bool in_session) {
    timed_out_ = false;
    deadline_hit_ = false;
    auto wait = options_.timeout;
    bool deadline_bounds = false;
    if (in_session) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          session_deadline_ - Clock::now());
      if (left < wait) {
        wait = std::max(left, std::chrono::milliseconds(0));
        deadline_bounds = true;
      }
    }
    const uint64_t generation = ++wait_generation_;
    timer_.expires_after(wait);
    auto self = shared_from_this();
    timer_.async_wait([self, generation, deadline_bounds](boost::system::error_code ec) {
      if (ec) return;  // cancelled: the operation finished first
      if (generation != self->wait_generation_) return;  // a wait that already ended
      self->timed_out_ = true;
      self->deadline_hit_ = deadline_bounds;
      boost::system::error_code ignored;
      self->socket_.cancel(ignored);
    });
  }

  // The wait is over: its timer, even if already queued, no longer counts.
  void EndWait() {
    ++wait_generation_;
    timer_.cancel();
  }

  void OnConnect(boost::system::error_code ec) {
    EndWait();
    MxReport& mx = report_.mx[mx_];
    ConnectAttempt& attempt = mx.attempts.back();
    attempt.ms = MsSince(start_);
    if (ec) {
      attempt.timed_out = timed_out_;
      attempt.error = timed_out_ ? absl::StrCat("no connection within ", options_.timeout.count(), " ms")
                                 : ec.message();
      boost::system::error_code ignored;
      socket_.close(ignored);
      ++address_;
      return Connect();
    }
    attempt.connected = true;
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    mx.hop_address = attempt.address;
    mx.timings.connect_ms = attempt.ms;
    HopOptions o;
    o.helo_domain = options_.helo_domain;
    o.tls_context = options_.tls_context;
    // RFC 7672 §3.2.2 and RFC 8461 §4.1 check the MX host name; an IP
    // literal has none to check or send as SNI (RFC 6066 §3).
    o.tls_name = report_.target.is_ip ? "" : mx.host;
    hop_.emplace(std::move(o));
    session_start_ = Clock::now();
    session_deadline_ = start_ + SessionDeadline();
    stage_ = hop_->stage();
    Step();
  }

  void NoteStage() {
    const HopStage now = hop_->stage();
    if (now == stage_) return;
    Timings& t = report_.mx[mx_].timings;
    if (stage_ == HopStage::kGreeting) t.greeting_ms = MsSince(session_start_);
    if (now == HopStage::kTlsHandshake) tls_start_ = Clock::now();
    if (stage_ == HopStage::kTlsHandshake && hop_->report().tls_established) {
      t.tls_ms = MsSince(tls_start_);
    }
    stage_ = now;
  }

  // Writes what the hop has to say, then reads, until the hop is done.
  void Step() {
    NoteStage();
    auto self = shared_from_this();
    if (hop_->has_output()) {
      write_buffer_ = hop_->TakeOutput();
      ArmTimer(/*in_session=*/true);
      asio::async_write(socket_, asio::buffer(write_buffer_),
                        [self](boost::system::error_code ec, size_t) {
                          self->EndWait();
                          if (ec) {
                            self->hop_->Abort(self->WaitError("the server to take our bytes", ec),
                                              self->timed_out_);
                            self->hop_->TakeOutput();  // the socket is of no more use
                          }
                          self->Step();
                        });
      return;
    }
    if (hop_->done()) return EndHop();
    ArmTimer(/*in_session=*/true);
    socket_.async_read_some(asio::buffer(read_buffer_),
                            [self](boost::system::error_code ec, size_t n) {
                              self->EndWait();
                              if (n > 0) self->hop_->Feed(std::string_view(self->read_buffer_, n));
                              if (ec == asio::error::eof || ec == asio::error::connection_reset) {
                                self->hop_->FeedEof();
                              } else if (ec) {
                                self->hop_->Abort(
                                    self->WaitError(std::string(StageName(self->hop_->stage())), ec),
                                    self->timed_out_);
                                self->hop_->TakeOutput();  // the socket is of no more use
                              }
                              self->Step();
                            });
  }

  std::string WaitError(const std::string& what, boost::system::error_code ec) const {
    if (deadline_hit_) {
      return absl::StrCat("timeout: the session passed its deadline of ", SessionDeadline().count(),
                          " ms (", kSessionDeadlineTimeouts, " x the per-wait timeout unless set) waiting for ",
                          what);
    }
    if (timed_out_) return absl::StrCat("timeout: no ", what, " within ", options_.timeout.count(), " ms");
    return absl::StrCat("socket error waiting for ", what, ": ", ec.message());
  }

  void EndHop() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    MxReport& mx = report_.mx[mx_];
    mx.timings.total_ms = MsSince(start_);
    mx.hop = hop_->report();
    hop_.reset();
    AfterHop(mx_);
  }

  // ---- DANE (RFC 7672) and the verdicts ----

  void AfterHop(size_t i) {
    MxReport& mx = report_.mx[i];
    if (!options_.evaluate_policies || !mx.hop || !mx.hop->hello_accepted()) return NextMx(i + 1);
    if (report_.target.is_ip) {
      Evaluate(i);
      return NextMx(i + 1);
    }
    // RFC 7672 §2.2: mail to an MX goes to port 25, so its TLSA records are
    // at _25._tcp.MX; --port only moves the listener for tests (fakemx
    // publishes _25 for every receiver). A HOST:PORT target names its own
    // port, whose records are at _PORT._tcp.HOST (RFC 6698 §3).
    const std::string name =
        absl::StrCat("_", report_.target.port.value_or(uint16_t{25}), "._tcp.", mx.host);
    auto self = shared_from_this();
    resolver_.Lookup(name, dns::RrType::kTlsa, [self, i, name](dns::LookupResult r) {
      self->OnTlsa(i, name, std::move(r));
      self->Evaluate(i);
      asio::post(self->io_, [self, i] { self->NextMx(i + 1); });
    });
  }

  void OnTlsa(size_t i, const std::string& name, dns::LookupResult r) {
    TlsaReport t;
    t.name = name;
    t.authenticated = r.authenticated;
    t.detail = LookupText(name, dns::RrType::kTlsa, r);
    if (r.authenticated) t.detail += ", authenticated (AD)";
    switch (r.status) {
      case dns::LookupStatus::kAnswer:
        // RFC 7672 §2.2: only a validated (AD) answer makes DANE apply.
        t.lookup = r.authenticated ? policy::TlsaLookup::kAuthenticated
                                   : policy::TlsaLookup::kUnauthenticated;
        break;
      case dns::LookupStatus::kNxDomain:
      case dns::LookupStatus::kNoData:
        t.lookup = policy::TlsaLookup::kNoRecords;
        break;
      default:
        t.lookup = policy::TlsaLookup::kFailed;
        break;
    }
    size_t malformed = 0;
    for (const dns::ResourceRecord& rr : r.records) {
      const auto* data = std::get_if<dns::TlsaData>(&rr.data);
      if (data == nullptr) continue;
      absl::StatusOr<policy::TlsaRecord> record = policy::TlsaRecordFromDns(*data);
      if (record.ok()) {
        t.records.push_back(*std::move(record));
      } else {
        // RFC 7671 §10.1.2: a malformed record is unusable; the others count.
        ++malformed;
      }
    }
    if (malformed > 0) absl::StrAppend(&t.detail, "; ", malformed, " malformed TLSA record(s) ignored");
    const MxReport& mx = report_.mx[i];
    if (!mx.mx_authenticated) {
      t.insecure_reason = absl::StrCat("the ", mx.implicit_mx ? "MX denial" : "MX answer", " for ",
                                       report_.target.name,
                                       " was not DNSSEC-authenticated (no AD bit); RFC 7672 §2.2.1");
    } else if (!mx.addresses_authenticated) {
      t.insecure_reason = absl::StrCat("the A/AAAA answers for ", mx.host,
                                       " were not all DNSSEC-authenticated (no AD bit); RFC 7672 §2.2.2");
    }
    if (!t.insecure_reason.empty()) {
      // An insecure MX or address chain means DANE does not apply, whatever
      // the TLSA answer says: its records are as if unsigned, and a failed
      // lookup is one a sender would not have made.
      if (t.lookup == policy::TlsaLookup::kAuthenticated) t.lookup = policy::TlsaLookup::kUnauthenticated;
      if (t.lookup == policy::TlsaLookup::kFailed) t.lookup = policy::TlsaLookup::kNoRecords;
      absl::StrAppend(&t.detail, "; DANE does not apply: ", t.insecure_reason);
    }
    report_.mx[i].tlsa = std::move(t);
  }

  void Evaluate(size_t i) {
    MxReport& mx = report_.mx[i];
    const HopReport& h = *mx.hop;
    policy::HopObservation o;
    o.mx_host = mx.host;
    o.starttls_offered = h.starttls_offered;
    o.starttls_accepted = h.starttls_reply.has_value() && h.starttls_reply->code == 220;
    o.handshake_ok = h.tls_established;
    if (h.tls_error) {
      o.handshake_error = h.tls_error->ToString();
    } else if (o.starttls_accepted && !h.tls_established) {
      o.handshake_error = h.detail;
    }
    o.now = absl::Now();
    if (h.tls_established) {
      o.tls_version = std::string(tls::VersionName(h.tls->version));
      o.cipher = h.tls->cipher;
      o.chain_der = h.tls->peer_chain_der;
      mx.chain_verification = policy::VerifyChainToRoots(o.chain_der, options_.trusted_roots_pem, o.now);
      o.chain_verification = mx.chain_verification;
    }
    o.mta_sts = report_.mta_sts.observation;
    if (mx.tlsa) {
      o.tlsa_lookup = mx.tlsa->lookup;
      o.tlsa_records = mx.tlsa->records;
    }
    mx.verdicts = policy::EvaluateAllPolicies(o);
  }

  void Finish() {
    bool answered = false, timed_out = false;
    for (const MxReport& mx : report_.mx) {
      if (mx.hop && !(mx.hop->timed_out && !mx.hop->greeting)) answered = true;
      if (mx.hop && mx.hop->timed_out) timed_out = true;
      for (const ConnectAttempt& a : mx.attempts) timed_out = timed_out || a.timed_out;
    }
    if (!answered) {
      std::string why;
      for (const MxReport& mx : report_.mx) {
        for (const ConnectAttempt& a : mx.attempts) {
          if (!a.connected) absl::StrAppend(&why, why.empty() ? "" : "; ", mx.host, " ", a.address, ": ", a.error);
        }
        if (mx.hop) absl::StrAppend(&why, why.empty() ? "" : "; ", mx.host, " ", mx.hop_address, ": ", mx.hop->detail);
        if (mx.addresses.empty()) {
          absl::StrAppend(&why, why.empty() ? "" : "; ", mx.host, ": ",
                          mx.address_error.empty() ? "no A or AAAA record" : mx.address_error);
        }
      }
      report_.failure = timed_out ? ProbeFailure::kTimeout : ProbeFailure::kUnreachable;
      report_.error = absl::StrCat(timed_out ? "no mail host answered in time: "
                                             : "no mail host could be reached: ",
                                   why);
    }
    Done();
  }

  void Fail(ProbeFailure f, std::string why) {
    report_.failure = f;
    report_.error = std::move(why);
    Done();
  }

  void Done() {
    auto done = std::move(done_);
    done(std::move(report_));
  }

  asio::io_context& io_;
  dns::Resolver& resolver_;
  ProbeOptions options_;
  std::function<void(ProbeReport)> done_;
  ProbeReport report_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  bool timed_out_ = false;
  bool deadline_hit_ = false;  // timed_out_ by the session deadline, not the per-wait timeout
  uint64_t wait_generation_ = 0;
  Clock::time_point session_deadline_;
  size_t mx_ = 0, address_ = 0;
  std::optional<HopSession> hop_;
  HopStage stage_ = HopStage::kGreeting;
  Clock::time_point start_, session_start_, tls_start_;
  std::string write_buffer_;
  char read_buffer_[16 * 1024];
};

}  // namespace

absl::StatusOr<ProbeTarget> ParseProbeTarget(std::string_view text) {
  ProbeTarget t;
  std::string_view host = text;
  std::optional<std::string_view> port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError("\"[\" without \"]\": write [IPv6]:PORT");
    }
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return absl::InvalidArgumentError("after \"]\" only \":PORT\" may follow");
      port_text = rest.substr(1);
    }
    boost::system::error_code ec;
    asio::ip::make_address_v6(std::string(host), ec);
    if (ec) return absl::InvalidArgumentError(absl::StrCat("\"", std::string(host), "\" in brackets is not an IPv6 address"));
  } else if (text.find(':') != text.rfind(':')) {
    // Two colons or more: an IPv6 literal without a port.
    boost::system::error_code ec;
    asio::ip::make_address_v6(std::string(text), ec);
    if (ec) return absl::InvalidArgumentError("not an IPv6 address (write [IPv6]:PORT for a port)");
  } else if (const size_t colon = text.find(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (port_text) {
    if (port_text->empty() || port_text->size() > 5) {
      return absl::InvalidArgumentError("the port must be a number from 1 to 65535");
    }
    uint32_t port = 0;
    for (char c : *port_text) {
      if (c < '0' || c > '9') return absl::InvalidArgumentError("the port must be a number from 1 to 65535");
      port = port * 10 + static_cast<uint32_t>(c - '0');
    }
    if (port == 0 || port > 65535) return absl::InvalidArgumentError("the port must be a number from 1 to 65535");
    t.port = static_cast<uint16_t>(port);
  }
  boost::system::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(std::string(host), ec);
  if (!ec) {
    t.is_ip = true;
    t.name = ip.to_string();
    return t;
  }
  std::string name(host);
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (dns::HasNonAscii(name)) {
    dns::IdnaResult a = dns::ToALabels(name);
    if (!a.ok()) return absl::InvalidArgumentError(absl::StrCat("not a host name: ", a.error));
    name = a.name;
  }
  if (absl::Status s = CheckHostName(name); !s.ok()) return s;
  t.name = std::move(name);
  return t;
}

std::string_view ProbeFailureName(ProbeFailure failure) {
  switch (failure) {
    case ProbeFailure::kNone: return "none";
    case ProbeFailure::kNameNotFound: return "name-not-found";
    case ProbeFailure::kNullMx: return "null-mx";
    case ProbeFailure::kDnsFailure: return "dns-failure";
    case ProbeFailure::kUnreachable: return "unreachable";
    case ProbeFailure::kTimeout: return "timeout";
  }
  return "unknown";
}

const MxReport* ProbeReport::delivery_mx() const {
  for (const MxReport& m : mx) {
    if (m.hop && m.hop->hello_accepted()) return &m;
  }
  return nullptr;
}

bool ProbeReport::red_lock() const {
  const MxReport* m = delivery_mx();
  return m != nullptr && m->hop->red_lock();
}

void StartProbe(boost::asio::io_context& io, dns::Resolver& resolver, ProbeTarget target,
                ProbeOptions options, std::function<void(ProbeReport)> done) {
  auto prober = std::make_shared<Prober>(io, resolver, std::move(target), std::move(options),
                                         std::move(done));
  asio::post(io, [prober] { prober->Start(); });
}

ProbeReport RunProbe(boost::asio::io_context& io, dns::Resolver& resolver, ProbeTarget target,
                     ProbeOptions options) {
  std::optional<ProbeReport> result;
  StartProbe(io, resolver, std::move(target), std::move(options),
             [&result](ProbeReport r) { result = std::move(r); });
  while (!result && io.run_one() > 0) {
  }
  io.restart();
  if (!result) {
    // Unreachable: every path of the prober ends in `done`. Said plainly
    // rather than dereferenced if it ever is not.
    ProbeReport r;
    r.failure = ProbeFailure::kUnreachable;
    r.error = "internal error: the probe ended without a report";
    return r;
  }
  return std::move(*result);
}

}  // namespace mxkit::probe
