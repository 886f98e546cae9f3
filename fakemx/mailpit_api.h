// The Mailpit-compatible subset of fakemx's HTTP API (docs/api.md lists it
// endpoint by endpoint), sans-IO over the CaptureStore: test code written
// for Mailpit (the mailpit-api npm client, testcontainers-mailpit,
// cypress-mailpit) points at fakemx unchanged. Field names and types are
// Mailpit's (v1.x API: PascalCase, IDs as strings, Attachments a count in
// summaries); fakemx's own facts are added beside them under "FakeMX", never
// in their place. Errors are Mailpit's plain-text ones.

#ifndef MXKIT_FAKEMX_MAILPIT_API_H_
#define MXKIT_FAKEMX_MAILPIT_API_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fakemx/capture.h"
#include "fakemx/http_target.h"
#include "fakemx/http_types.h"

namespace mxkit::fakemx {

// The policy of /view/{ID}.html (a message's HTML part): nothing runs or
// loads but inline styles and data: images, in a sandbox.
inline constexpr std::string_view kViewContentSecurityPolicy =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox";

class MailpitApi {
 public:
  // `store` must outlive this object. `started_at_us` (Unix µs) is when
  // fakemx started, for /api/v1/info's Uptime; 0 means "at the first
  // request". The handler observes the store (for /api/v1/info's
  // SMTPAcceptedSize), so it is created and destroyed on the store's thread.
  explicit MailpitApi(CaptureStore& store, int64_t started_at_us = 0);
  ~MailpitApi();
  MailpitApi(MailpitApi&&) noexcept;
  MailpitApi& operator=(MailpitApi&&) = delete;

  // Answers a request under /api/v1/ or /view/; nullopt when the path is
  // not one of Mailpit's (the caller answers 404). `now_us` is Unix time
  // in microseconds (for /api/v1/info's uptime and the like).
  std::optional<HttpResponse> Handle(const HttpRequest& request, const HttpTarget& target,
                                     int64_t now_us);

  // The text of the /api/events websocket frame announcing `message`:
  // {"Type":"new","Data":<message summary>}.
  static std::string NewMessageEvent(const CapturedSession& session,
                                     const CapturedMessage& message);

 private:
  class Accepted;  // the CaptureObserver counting accepted messages' bytes

  CaptureStore* store_;
  int64_t started_at_us_ = 0;
  std::unique_ptr<Accepted> accepted_;
};

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_MAILPIT_API_H_
