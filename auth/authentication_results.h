// Authentication-Results header fields (RFC 8601): parsing existing ones and
// formatting. Building one from mxkit's SPF, DKIM and DMARC results is
// auth/authentication_results_builder.h, so that parsing a header needs
// neither the evaluators nor BoringSSL.
//
// ParseAuthenticationResults implements the RFC 8601 §2.2 grammar for the
// field body (everything after "Authentication-Results:"):
//
//   authres-payload = [CFWS] authserv-id [ CFWS authres-version ]
//                     ( no-result / 1*resinfo ) [CFWS]
//   no-result  = [CFWS] ";" [CFWS] "none"
//   resinfo    = [CFWS] ";" methodspec [ CFWS reasonspec ] [ CFWS 1*propspec ]
//   methodspec = [CFWS] method [CFWS] "=" [CFWS] result
//   method     = Keyword [ [CFWS] "/" [CFWS] method-version ]
//   reasonspec = "reason" [CFWS] "=" [CFWS] value
//   propspec   = ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue
//   pvalue     = [CFWS] ( value / [ [ local-part ] "@" ] domain-name ) [CFWS]
//
// with value = token / quoted-string (RFC 2045 §5.1), Keyword = Ldh-str
// (RFC 5321), CFWS with nested comments and folding (RFC 5322 §3.2.2).
// Comments are skipped, not kept; quoted strings are stored decoded.
//
// Strict by default. Big receivers emit fields this grammar rejects, so each
// deviation we have seen is its own switch in AuthResOptions.
//
// Round trip: for every input x and options O with ParseAuthenticationResults
// (x, O) ok, FormatAuthenticationResults of the result succeeds and parses
// back (under O) to an equal value.

#ifndef MXKIT_AUTH_AUTHENTICATION_RESULTS_H_
#define MXKIT_AUTH_AUTHENTICATION_RESULTS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "message/cfws.h"

namespace mxkit::auth {

// Postfix's header_size_limit (message/header_block.h kMaxHeaderFieldBytes):
// a longer field is not one header to a receiver anyway.
inline constexpr std::size_t kMaxAuthResLength = 102400;
// Ours: RFC 8601 bounds neither; a receiver adds a handful.
inline constexpr std::size_t kMaxResultInfos = 256;
inline constexpr std::size_t kMaxPropertiesPerResult = 64;
inline constexpr std::size_t kMaxAuthResCommentDepth = message::kMaxCommentDepth;
// authres-version and method-version are 1*DIGIT; nine digits fit uint32.
inline constexpr std::size_t kMaxVersionDigits = 9;

struct AuthResProperty {
  std::string ptype;     // "smtp", "header", "body", "policy", lowercased;
                         // empty only under allow_property_without_ptype
  std::string property;  // "mailfrom", "d", "from", ... lowercased
  std::string value;     // decoded pvalue
  bool operator==(const AuthResProperty&) const = default;
};

struct AuthResInfo {
  std::string method;  // "spf", "dkim", "dmarc", ... lowercased
  std::optional<uint32_t> method_version;
  std::string result;  // "pass", "fail", ... lowercased
  std::optional<std::string> reason;  // decoded
  std::vector<AuthResProperty> properties;
  bool operator==(const AuthResInfo&) const = default;
};

struct AuthenticationResults {
  std::string authserv_id;  // decoded; empty only under allow_missing_authserv_id
  std::optional<uint32_t> version;
  std::vector<AuthResInfo> results;  // empty: the no-result form "; none"
  bool operator==(const AuthenticationResults&) const = default;
};

enum class AuthResError {
  kOk,
  kTooLong,             // over kMaxAuthResLength
  kMissingAuthservId,   // no authserv-id
  kSyntax,              // the grammar above does not match
  kUnterminatedComment,
  kCommentTooDeep,      // more than kMaxAuthResCommentDepth nested comments
  kUnterminatedQuotedString,
  kBadVersion,          // more than kMaxVersionDigits digits
  kTooManyResults,      // more than kMaxResultInfos resinfo
  kTooManyProperties,   // more than kMaxPropertiesPerResult in one resinfo
};

// The enumerator's name without the 'k' ("MissingAuthservId").
std::string_view AuthResErrorName(AuthResError error);

struct AuthResOptions {
  // Leniency: no authserv-id; the payload starts with the first methodspec.
  // Relaxes RFC 8601 §2.2 ("authserv-id" is required). Microsoft 365 writes
  // "Authentication-Results: spf=pass (sender IP is ...) smtp.mailfrom=...".
  bool allow_missing_authserv_id = false;
  // Leniency: a "name=value" after the result that is neither reason= nor
  // ptype.property=: Microsoft's "action=none", Fastmail's "x-bits=2048".
  // Relaxes RFC 8601 §2.2 propspec. Stored with an empty ptype.
  bool allow_property_without_ptype = false;
  // Leniency: unquoted pvalues with characters RFC 2045 §5.1 tspecials
  // forbid in a token ('/', '=', ':', '[', ']', ...): Gmail's
  // "header.b=Ab/c+D9e", Fastmail's "smtp.bits=256/256", unquoted IPv6
  // "smtp.remote-ip=2001:db8::1"; and '_' in keywords ("policy.is_org").
  // Relaxes RFC 8601 §2.2 pvalue and RFC 5321 Ldh-str.
  bool allow_nonstandard_tokens = false;

  // All of the above: what it takes to read real mailbox headers.
  static AuthResOptions Lenient() { return {true, true, true}; }
};

struct AuthResParseResult {
  AuthResError error = AuthResError::kOk;
  std::size_t offset = 0;  // in the field body, where parsing stopped (on error)
  std::string message;     // what, where and why (on error)
  AuthenticationResults value;

  bool ok() const { return error == AuthResError::kOk; }
};

// Parses the field body (after the colon; folding allowed).
AuthResParseResult ParseAuthenticationResults(std::string_view body,
                                              const AuthResOptions& options = {});

// The field body, starting with a space: " authserv-id;\r\n\tmethod=result
// ..." with one resinfo per folded line. Values are written as tokens where
// RFC 8601 allows, else as quoted strings. Fails (InvalidArgument) for a
// value no quoted-string can carry (CR, LF, NUL, other controls), a keyword
// outside [A-Za-z0-9_-], or an empty method/result/property.
absl::StatusOr<std::string> FormatAuthenticationResults(const AuthenticationResults& results);

// Writes a field body exactly as FormatAuthenticationResults does (which is
// written with it), one piece at a time, for a caller whose results are held
// in other types (auth/authentication_results_builder.h) and need not become
// an AuthenticationResults first. Calls follow the order of the body: per
// resinfo Method, then Reason, then its Properties. The first error (the one
// FormatAuthenticationResults would return) is kept and later calls do
// nothing; Finish returns it, or the body.
class AuthResWriter {
 public:
  // Starts " authserv-id" [" version"]; an empty authserv_id writes none.
  explicit AuthResWriter(std::string_view authserv_id,
                         std::optional<uint32_t> version = std::nullopt);
  void Method(std::string_view method, std::optional<uint32_t> method_version,
              std::string_view result);
  // With controls_to_spaces, each control character (RFC 5234 CTL, tab
  // included) is written as a space, as if the reason had been cleaned so
  // first, and the reason cannot fail.
  void Reason(std::string_view reason, bool controls_to_spaces = false);
  // An empty ptype writes the property alone ("name=value").
  void Property(std::string_view ptype, std::string_view property, std::string_view value);
  absl::StatusOr<std::string> Finish() &&;

 private:
  std::string out_;
  absl::Status status_;
  bool has_authserv_id_;
  bool any_method_ = false;
};

// "Authentication-Results:" + FormatAuthenticationResults + "\r\n".
absl::StatusOr<std::string> FormatAuthenticationResultsField(const AuthenticationResults& results);

}  // namespace mxkit::auth

#endif  // MXKIT_AUTH_AUTHENTICATION_RESULTS_H_
