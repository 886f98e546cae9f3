// RFC 5322 §3.2.2 folding white space and comments (CFWS), the lexer every
// structured header field parser here shares: From (auth/dmarc/from.h) and
// Authentication-Results (auth/authentication_results.h).
//
//   FWS     = ([*WSP CRLF] 1*WSP) / obs-FWS
//   ctext   = %d33-39 / %d42-91 / %d93-126 / obs-ctext
//   ccontent = ctext / quoted-pair / comment
//   comment = "(" *([FWS] ccontent) [FWS] ")"
//   CFWS    = (1*([FWS] comment) [FWS]) / FWS
//
// A line break is CRLF, or a bare LF as the header block splitter may have
// passed under its own leniency (message/header_block.h); either must be
// followed by WSP. Inside a comment, CR and LF are allowed only as such a
// fold and NUL not at all: obs-ctext (§4.1, obs-NO-WS-CTL = %d1-8 / %d11 /
// %d12 / %d14-31 / %d127) excludes all three, so "(a<NUL>b)" or a bare CR in
// a comment is rejected rather than read differently from the next parser
// (a classic source of From-header ambiguity). quoted-pair takes any byte
// after the backslash (obs-qp, §4.1, allows NUL, CR and LF there).

#ifndef MXKIT_MESSAGE_CFWS_H_
#define MXKIT_MESSAGE_CFWS_H_

#include <cstddef>
#include <string_view>

namespace mxkit::message {

// Nesting depth of comments we follow (ours; the grammar is unbounded and a
// deep nest is only an attack on a recursive parser).
inline constexpr std::size_t kMaxCommentDepth = 32;

enum class CfwsError {
  kNone,
  kBareCr,               // CR not followed by LF
  kFoldWithoutWsp,       // a line break not followed by WSP (§3.2.2 FWS)
  kNulInComment,         // NUL as comment text (not ctext, not obs-ctext)
  kUnterminatedComment,  // "(" without its ")"
  kCommentTooDeep,       // more than kMaxCommentDepth nested comments
};

struct CfwsResult {
  CfwsError error = CfwsError::kNone;
  // On success the offset just past what was skipped; on error the offset
  // of the offending byte (of the opening "(" for kUnterminatedComment).
  std::size_t offset = 0;
  bool ok() const { return error == CfwsError::kNone; }
};

// Skips [CFWS] in `text` from `pos`; stops at the first byte that starts
// neither WSP, a line break nor a comment (or at the end).
CfwsResult SkipCfws(std::string_view text, std::size_t pos);

// Skips one comment; text[pos] must be '('.
CfwsResult SkipComment(std::string_view text, std::size_t pos);

// Skips the line break of a fold, checking that WSP follows it; text[pos]
// must be CR or LF. The WSP is left in place: inside a quoted-string it is
// content (§3.2.4, unfolding removes only the CRLF).
CfwsResult SkipFold(std::string_view text, std::size_t pos);

// What went wrong, with the RFC rule, for an error message
// ("line break not followed by WSP (RFC 5322 §3.2.2 FWS)").
std::string_view CfwsErrorText(CfwsError error);

// The enumerator's name without the 'k' ("BareCr").
std::string_view CfwsErrorName(CfwsError error);

}  // namespace mxkit::message

#endif  // MXKIT_MESSAGE_CFWS_H_
