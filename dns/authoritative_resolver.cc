#include "dns/authoritative_resolver.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/absl_interop.h"
#include "dns/message.h"

namespace mxkit::dns {
namespace {

// RFC 1035 §4.1.1: the header is 12 octets; TC is bit 1 of the third.
constexpr size_t kHeaderSize = 12;
constexpr uint8_t kTcMask = 0x02;

bool Truncated(std::string_view wire) {
  return wire.size() >= kHeaderSize && (static_cast<uint8_t>(wire[2]) & kTcMask) != 0;
}

LookupResult Failure(LookupStatus status, std::string detail) {
  LookupResult r;
  r.status = status;
  r.detail = std::move(detail);
  return r;
}

}  // namespace

// State every copy of a resolver shares.
struct AuthoritativeResolver::Shared {
  mutable absl::Mutex mu;
  // Query IDs (RFC 1035 §4.1.1), so consecutive lookups differ as a stub's
  // do; nothing is in flight between calls, so they need not be random.
  uint16_t next_id ABSL_GUARDED_BY(mu) = 1;
  // Answers by type, then by the name exactly as asked (the case matters:
  // it is echoed in the records' owner names); string_view lookups.
  absl::flat_hash_map<uint16_t, absl::flat_hash_map<std::string, LookupResult>> answers
      ABSL_GUARDED_BY(mu);
  size_t cached ABSL_GUARDED_BY(mu) = 0;
  uint64_t wire_lookups ABSL_GUARDED_BY(mu) = 0;
};

AuthoritativeResolver::AuthoritativeResolver(AuthoritativeResponder responder)
    : responder_(std::move(responder)), shared_(std::make_shared<Shared>()) {}

uint64_t AuthoritativeResolver::wire_lookups() const {
  absl::MutexLock lock(&shared_->mu);
  return shared_->wire_lookups;
}

void AuthoritativeResolver::Lookup(std::string_view name, RrType type, Callback done) {
  const uint16_t type_number = static_cast<uint16_t>(type);
  std::optional<LookupResult> hit;
  {
    absl::MutexLock lock(&shared_->mu);
    auto by_type = shared_->answers.find(type_number);
    if (by_type != shared_->answers.end()) {
      auto found = by_type->second.find(base::Av(name));
      if (found != by_type->second.end()) hit = found->second;
    }
  }
  // `done` runs outside the lock: it may look up again (a CNAME's SPF
  // include, the next step of a verdict).
  if (hit) {
    done(*std::move(hit));
    return;
  }
  LookupResult result = LookupOnWire(name, type);
  {
    absl::MutexLock lock(&shared_->mu);
    if (shared_->cached >= kMaxCachedAnswers) {
      shared_->answers.clear();
      shared_->cached = 0;
    }
    if (shared_->answers[type_number].try_emplace(std::string(name), result).second) ++shared_->cached;
  }
  done(std::move(result));
}

LookupResult AuthoritativeResolver::LookupOnWire(std::string_view name, RrType type) {
  uint16_t id;
  {
    absl::MutexLock lock(&shared_->mu);
    id = shared_->next_id++;
    ++shared_->wire_lookups;
  }
  Message query = MakeQuery(id, name, static_cast<uint16_t>(type));
  // RFC 6840 §5.7: a stub asks for the AD bit by setting it in the query.
  query.header.z |= kZAuthenticData;
  WireResult<std::string> wire = BuildMessage(query);
  if (!wire.ok()) {
    return Failure(LookupStatus::kPermanentFailure,
                   absl::StrCat("cannot query \"", base::Av(name), "\": ", wire.error().message));
  }
  std::string answer;
  bool sent = responder_.Respond(*wire, QueryTransport::kUdp, answer);
  // RFC 7766 §5: a truncated UDP answer is asked again over TCP.
  if (sent && Truncated(answer)) {
    sent = responder_.Respond(*wire, QueryTransport::kTcp, answer);
  }
  if (!sent) {
    return Failure(LookupStatus::kTemporaryFailure,
                   absl::StrCat("timeout: fakemx's DNS did not answer ", base::Av(name), " ",
                                RrTypeName(type), " (a \"timeout\" fault)"));
  }
  LookupResult result = InterpretAnswer(name, type, answer);
  if (!result.detail.empty()) absl::StrAppend(&result.detail, " from fakemx's DNS");
  return result;
}

}  // namespace mxkit::dns
