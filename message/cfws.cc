#include "message/cfws.h"

namespace mxkit::message {
namespace {

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

CfwsResult Fail(CfwsError error, std::size_t offset) { return CfwsResult{error, offset}; }

}  // namespace

CfwsResult SkipFold(std::string_view text, std::size_t pos) {
  std::size_t n = 1;
  if (text[pos] == '\r') {
    if (pos + 1 >= text.size() || text[pos + 1] != '\n') return Fail(CfwsError::kBareCr, pos);
    n = 2;
  }
  if (pos + n >= text.size() || !IsWsp(text[pos + n])) {
    return Fail(CfwsError::kFoldWithoutWsp, pos);
  }
  return CfwsResult{CfwsError::kNone, pos + n};
}

CfwsResult SkipComment(std::string_view text, std::size_t pos) {
  const std::size_t start = pos;
  std::size_t depth = 0;
  while (pos < text.size()) {
    const char c = text[pos];
    if (c == '(') {
      if (++depth > kMaxCommentDepth) return Fail(CfwsError::kCommentTooDeep, pos);
      ++pos;
    } else if (c == ')') {
      ++pos;
      if (--depth == 0) return CfwsResult{CfwsError::kNone, pos};
    } else if (c == '\\') {
      if (pos + 1 >= text.size()) break;
      pos += 2;
    } else if (c == '\r' || c == '\n') {
      CfwsResult fold = SkipFold(text, pos);
      if (!fold.ok()) return fold;
      pos = fold.offset;
    } else if (c == '\0') {
      return Fail(CfwsError::kNulInComment, pos);
    } else {
      ++pos;
    }
  }
  return Fail(CfwsError::kUnterminatedComment, start);
}

CfwsResult SkipCfws(std::string_view text, std::size_t pos) {
  while (pos < text.size()) {
    const char c = text[pos];
    CfwsResult step;
    if (IsWsp(c)) {
      ++pos;
      continue;
    } else if (c == '\r' || c == '\n') {
      step = SkipFold(text, pos);
    } else if (c == '(') {
      step = SkipComment(text, pos);
    } else {
      break;
    }
    if (!step.ok()) return step;
    pos = step.offset;
  }
  return CfwsResult{CfwsError::kNone, pos};
}

std::string_view CfwsErrorText(CfwsError error) {
  switch (error) {
    case CfwsError::kNone: return "no error";
    case CfwsError::kBareCr: return "bare CR (RFC 5322 §2.2: CR only in CRLF)";
    case CfwsError::kFoldWithoutWsp: return "line break not followed by WSP (RFC 5322 §3.2.2 FWS)";
    case CfwsError::kNulInComment: return "NUL inside a comment (RFC 5322 §3.2.2 ctext, §4.1 obs-ctext)";
    case CfwsError::kUnterminatedComment: return "unterminated comment";
    case CfwsError::kCommentTooDeep:
      static_assert(kMaxCommentDepth == 32, "update the text below");
      return "comments nested deeper than 32";
  }
  return "unknown error";
}

std::string_view CfwsErrorName(CfwsError error) {
  switch (error) {
    case CfwsError::kNone: return "None";
    case CfwsError::kBareCr: return "BareCr";
    case CfwsError::kFoldWithoutWsp: return "FoldWithoutWsp";
    case CfwsError::kNulInComment: return "NulInComment";
    case CfwsError::kUnterminatedComment: return "UnterminatedComment";
    case CfwsError::kCommentTooDeep: return "CommentTooDeep";
  }
  return "Unknown";
}

}  // namespace mxkit::message
