#include "dns/authoritative_resolver.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
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

AuthoritativeResolver::AuthoritativeResolver(AuthoritativeResponder responder)
    : responder_(std::move(responder)), next_id_(std::make_shared<uint16_t>(1)) {}

void AuthoritativeResolver::Lookup(std::string_view name, RrType type, Callback done) {
  Message query = MakeQuery((*next_id_)++, name, static_cast<uint16_t>(type));
  // RFC 6840 §5.7: a stub asks for the AD bit by setting it in the query.
  query.header.z |= kZAuthenticData;
  WireResult<std::string> wire = BuildMessage(query);
  if (!wire.ok()) {
    done(Failure(LookupStatus::kPermanentFailure,
                 absl::StrCat("cannot query \"", base::Av(name), "\": ", wire.error().message)));
    return;
  }
  std::string answer;
  bool sent = responder_.Respond(*wire, QueryTransport::kUdp, answer);
  // RFC 7766 §5: a truncated UDP answer is asked again over TCP.
  if (sent && Truncated(answer)) {
    sent = responder_.Respond(*wire, QueryTransport::kTcp, answer);
  }
  if (!sent) {
    done(Failure(LookupStatus::kTemporaryFailure,
                 absl::StrCat("timeout: fakemx's DNS did not answer ", base::Av(name), " ",
                              RrTypeName(type), " (a \"timeout\" fault)")));
    return;
  }
  LookupResult result = InterpretAnswer(name, type, answer);
  if (!result.detail.empty()) absl::StrAppend(&result.detail, " from fakemx's DNS");
  done(std::move(result));
}

}  // namespace mxkit::dns
