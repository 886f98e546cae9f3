#include "auth/dkim/canonicalize.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::auth::dkim {
namespace {

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else out += c;
  }
  return out;
}

struct HeaderRow {
  std::string raw;
  std::string simple;
  std::string relaxed;
};

TEST(CanonicalizeHeader, SimpleAndRelaxedTable) {
  const std::vector<HeaderRow> rows = {
      {"Subject: Hello", "Subject: Hello\r\n", "subject:Hello\r\n"},
      // Only the name is lowercased.
      {"SUBJECT: MiXeD Value", "SUBJECT: MiXeD Value\r\n", "subject:MiXeD Value\r\n"},
      // WSP before and after the colon goes; inner runs become one SP.
      {"Subject \t:  a \t b  ", "Subject \t:  a \t b  \r\n", "subject:a b\r\n"},
      // Unfolding removes CRLF and keeps the WSP after it, which collapses.
      {"Subject: a\r\n\tb", "Subject: a\r\n\tb\r\n", "subject:a b\r\n"},
      {"Subject: a \r\n  b", "Subject: a \r\n  b\r\n", "subject:a b\r\n"},
      {"Subject:a\r\n b", "Subject:a\r\n b\r\n", "subject:a b\r\n"},
      // A value starting with a fold (OpenDKIM pull 119's "Name:\r\n\tValue").
      {"Subject:\r\n\tValue", "Subject:\r\n\tValue\r\n", "subject:Value\r\n"},
      {"Subject:", "Subject:\r\n", "subject:\r\n"},
      {"Subject:   ", "Subject:   \r\n", "subject:\r\n"},
      {"Subject:\r\n ", "Subject:\r\n \r\n", "subject:\r\n"},
      // Value bytes other than WSP are untouched, including non-ASCII.
      {"X-Y: caf\xc3\xa9\x01!", "X-Y: caf\xc3\xa9\x01!\r\n", "x-y:caf\xc3\xa9\x01!\r\n"},
      // Colons after the first belong to the value.
      {"To: a :b", "To: a :b\r\n", "to:a :b\r\n"},
  };
  for (const HeaderRow& row : rows) {
    EXPECT_EQ(Escape(CanonicalizeHeader(Canonicalization::kSimple, row.raw)), Escape(row.simple))
        << Escape(row.raw);
    EXPECT_EQ(Escape(CanonicalizeHeader(Canonicalization::kRelaxed, row.raw)),
              Escape(row.relaxed))
        << Escape(row.raw);
  }
}

struct BodyRow {
  std::string body;
  std::string simple;
  std::string relaxed;
};

const std::vector<BodyRow>& BodyRows() {
  static const auto* rows = new std::vector<BodyRow>{
      // Empty bodies: simple gives CRLF, relaxed gives nothing (§3.4.3, §3.4.4).
      {"", "\r\n", ""},
      {"\r\n", "\r\n", ""},
      {"\r\n\r\n\r\n", "\r\n", ""},
      {" \r\n\t\r\n", " \r\n\t\r\n", ""},
      {"a", "a\r\n", "a\r\n"},
      {"a\r\n", "a\r\n", "a\r\n"},
      {"a\r\n\r\n\r\n", "a\r\n", "a\r\n"},
      // Inner empty lines are kept; only trailing ones go.
      {"a\r\n\r\nb\r\n\r\n", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n"},
      // WSP: runs inside a line become one SP, trailing WSP goes.
      {"a \t b \r\n", "a \t b \r\n", "a b\r\n"},
      {" a\r\n", " a\r\n", " a\r\n"},
      {"\t\ta  b\t\r\n", "\t\ta  b\t\r\n", " a b\r\n"},
      // Lines that are empty only after WSP removal are trailing empty lines.
      {"a\r\n \r\n\t\r\n", "a\r\n \r\n\t\r\n", "a\r\n"},
      {"a\r\n \r\nb\r\n", "a\r\n \r\nb\r\n", "a\r\n\r\nb\r\n"},
      // CR-less cases: bare LF and bare CR are line content, so WSP before
      // them is inner WSP (one SP), not trailing WSP.
      {"a \nb\r\n", "a \nb\r\n", "a \nb\r\n"},
      {"a  \rb\r\n", "a  \rb\r\n", "a \rb\r\n"},
      {"a \r\r\n", "a \r\r\n", "a \r\r\n"},
      {"a\n", "a\n\r\n", "a\n\r\n"},
      {"\n", "\n\r\n", "\n\r\n"},
      {"a\r", "a\r\r\n", "a\r\r\n"},
      {"a \r", "a \r\r\n", "a \r\r\n"},
      {"\r", "\r\r\n", "\r\r\n"},
      {"a\r\r\n\r\n", "a\r\r\n", "a\r\r\n"},
      {"a\n\r\n\r\n", "a\n\r\n", "a\n\r\n"},
      {"\r\n\r", "\r\n\r\r\n", "\r\n\r\r\n"},
      // An unterminated last line gets a CRLF; its trailing WSP is trailing
      // WSP of that line in relaxed (dkimpy differs; see dkimpy_diff_test).
      {"a  ", "a  \r\n", "a\r\n"},
      {"a\r\n  ", "a\r\n  \r\n", "a\r\n"},
      {"  ", "  \r\n", ""},
      {"a\r\n\r\n  b", "a\r\n\r\n  b\r\n", "a\r\n\r\n b\r\n"},
      {"x\r\n\r\n \r\n", "x\r\n\r\n \r\n", "x\r\n"},
  };
  return *rows;
}

std::string RunChunks(Canonicalization c, const std::vector<std::string>& chunks,
                std::optional<uint64_t> limit = std::nullopt, uint64_t* total = nullptr) {
  StringBodySink sink;
  BodyCanonicalizer canon(c, &sink, limit);
  for (const std::string& chunk : chunks) canon.Update(chunk);
  canon.Finish();
  canon.Finish();  // idempotent
  canon.Update("ignored after Finish");
  if (total != nullptr) *total = canon.canonical_length();
  EXPECT_EQ(canon.written_length(), sink.data.size());
  return sink.data;
}

TEST(BodyCanonicalizer, OneShotTable) {
  for (const BodyRow& row : BodyRows()) {
    EXPECT_EQ(Escape(CanonicalizeBody(Canonicalization::kSimple, row.body)), Escape(row.simple))
        << Escape(row.body);
    EXPECT_EQ(Escape(CanonicalizeBody(Canonicalization::kRelaxed, row.body)),
              Escape(row.relaxed))
        << Escape(row.body);
  }
}

TEST(BodyCanonicalizer, SameOutputAtEverySplitPoint) {
  for (const BodyRow& row : BodyRows()) {
    for (Canonicalization c : {Canonicalization::kSimple, Canonicalization::kRelaxed}) {
      const std::string& want = c == Canonicalization::kSimple ? row.simple : row.relaxed;
      for (size_t i = 0; i <= row.body.size(); ++i) {
        for (size_t j = i; j <= row.body.size(); ++j) {
          std::vector<std::string> chunks = {row.body.substr(0, i), row.body.substr(i, j - i),
                                             row.body.substr(j)};
          EXPECT_EQ(Escape(RunChunks(c, chunks)), Escape(want))
              << CanonicalizationName(c) << " " << Escape(row.body) << " split at " << i << ","
              << j;
        }
      }
      std::vector<std::string> bytes;
      for (char ch : row.body) bytes.push_back(std::string(1, ch));
      EXPECT_EQ(Escape(RunChunks(c, bytes)), Escape(want)) << "byte by byte: " << Escape(row.body);
    }
  }
}

TEST(BodyCanonicalizer, LengthLimitCutsTheCanonicalBodyAtEverySplitPoint) {
  const std::string body = "Hi  there \r\n\r\n\tline\t two\r\n \r\n\r\n";
  for (Canonicalization c : {Canonicalization::kSimple, Canonicalization::kRelaxed}) {
    const std::string full = CanonicalizeBody(c, body);
    for (uint64_t limit = 0; limit <= full.size() + 2; ++limit) {
      for (size_t i = 0; i <= body.size(); ++i) {
        uint64_t total = 0;
        std::string got = RunChunks(c, {body.substr(0, i), body.substr(i)}, limit, &total);
        EXPECT_EQ(Escape(got), Escape(full.substr(0, std::min<uint64_t>(limit, full.size()))))
            << CanonicalizationName(c) << " l=" << limit << " split " << i;
        EXPECT_EQ(total, full.size());
      }
    }
  }
}

// RFC 6376 §3.4.3 and §3.4.4 read literally, line by line: an independent
// oracle for the streaming canonicalizer's fast paths. Lines end only at
// CRLF; an unterminated last line is a line.
std::string ReferenceBody(Canonicalization c, const std::string& body) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (;;) {
    std::size_t crlf = body.find("\r\n", start);
    if (crlf == std::string::npos) {
      if (start < body.size()) lines.push_back(body.substr(start));
      break;
    }
    lines.push_back(body.substr(start, crlf - start));
    start = crlf + 2;
  }
  if (c == Canonicalization::kRelaxed) {
    for (std::string& line : lines) {
      std::string out;
      for (char ch : line) {
        bool wsp = ch == ' ' || ch == '\t';
        if (wsp) {
          if (out.empty() || out.back() != ' ') out.push_back(' ');
        } else {
          out.push_back(ch);
        }
      }
      // An SP left by a run at the very start is WSP too.
      while (!out.empty() && out.back() == ' ') out.pop_back();
      line = out;
    }
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string out;
  for (const std::string& line : lines) out += line + "\r\n";
  if (c == Canonicalization::kSimple && out.empty()) out = "\r\n";
  return out;
}

// Bodies from pieces that stress every path: long plain words (the
// eight-byte scan), WSP runs, CRLF, bare CR and LF, control bytes, empty
// lines; cut into random chunks, with and without a limit.
TEST(BodyCanonicalizer, MatchesTheLineByLineReadingOfTheRfcOnRandomBodies) {
  const std::vector<std::string> pieces = {
      "a", "Z", "word", "figures_for_the_quarter", "0123456789abcdefghij", " ", "  ", "\t",
      " \t ", "\r\n", "\r\n\r\n", "\r", "\n", "\x01", "\x1f", "!", "\xc3\xa9", " x",
      "x ", "a b c d e f g h i j", "a  b\tc", "\r\n \r\n"};
  std::mt19937 rng(20231114);
  for (int round = 0; round < 1500; ++round) {
    std::string body;
    const int count = static_cast<int>(rng() % 60);
    for (int k = 0; k < count; ++k) body += pieces[rng() % pieces.size()];
    if (round % 3 == 0) {  // a long body: several staging buffers' worth
      std::string more;
      while (more.size() < 5000) more += body.empty() ? "text of a line  \r\n" : body;
      body = more;
    }
    for (Canonicalization c : {Canonicalization::kSimple, Canonicalization::kRelaxed}) {
      const std::string want = ReferenceBody(c, body);
      ASSERT_EQ(Escape(CanonicalizeBody(c, body)), Escape(want))
          << CanonicalizationName(c) << " " << Escape(body);
      std::vector<std::string> chunks;
      for (std::size_t pos = 0; pos < body.size();) {
        std::size_t n = std::min<std::size_t>(body.size() - pos, rng() % 40);
        chunks.push_back(body.substr(pos, n));
        pos += n;
      }
      uint64_t total = 0;
      ASSERT_EQ(Escape(RunChunks(c, chunks, std::nullopt, &total)), Escape(want))
          << CanonicalizationName(c) << " chunked " << Escape(body);
      ASSERT_EQ(total, want.size());
      const uint64_t limit = rng() % (want.size() + 3);
      ASSERT_EQ(Escape(RunChunks(c, chunks, limit, &total)),
                Escape(want.substr(0, std::min<uint64_t>(limit, want.size()))))
          << CanonicalizationName(c) << " l=" << limit << " " << Escape(body);
      ASSERT_EQ(total, want.size());
    }
  }
}

TEST(BodyCanonicalizer, ManyTrailingEmptyLinesAreDroppedAndInnerOnesKept) {
  std::string empties;
  for (int i = 0; i < 100000; ++i) empties += "\r\n";
  EXPECT_EQ(CanonicalizeBody(Canonicalization::kRelaxed, "a\r\n" + empties), "a\r\n");
  std::string kept = CanonicalizeBody(Canonicalization::kSimple, "a\r\n" + empties + "b\r\n");
  EXPECT_EQ(kept, "a\r\n" + empties + "b\r\n");
}

}  // namespace
}  // namespace mxkit::auth::dkim
