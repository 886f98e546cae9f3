// Fuzzes //base:base64, the one base64 decoder (SMTP AUTH, DKIM b=/bh=/p=,
// Authentication-Results header.b, mxkit's Ed25519 seeds).
//
// Properties:
//  - Strict decoding (the default) accepts exactly the canonical encodings:
//    when it succeeds, encoding the bytes gives the input back.
//  - Every leniency only widens: what a stricter option set accepts, each
//    more lenient set accepts with the same bytes.
//  - A failure's offset is inside the input (input.size() only for an
//    incomplete group), and its error has a name.
//  - Skipping FWS is removing it: with skip_folding_whitespace the input
//    decodes exactly as the input without SP, HTAB, CR and LF decodes
//    without it (the same success and bytes), whichever of the decoder's
//    sixteen-, four- and one-symbol steps meet the folds.
//  - Any bytes round-trip: DecodeBase64(EncodeBase64(b)) == b, and
//    AppendBase64 appends exactly what EncodeBase64 returns.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/base64.h"

namespace {

using mxkit::base::AppendBase64;
using mxkit::base::Base64DecodeOptions;
using mxkit::base::Base64Error;
using mxkit::base::Base64ErrorName;
using mxkit::base::Base64Result;
using mxkit::base::DecodeBase64;
using mxkit::base::EncodeBase64;

void Check(bool property) {
  if (!property) __builtin_trap();
}

Base64DecodeOptions Options(bool nonzero_pad_bits, bool folding_whitespace) {
  Base64DecodeOptions o;
  o.allow_nonzero_pad_bits = nonzero_pad_bits;
  o.skip_folding_whitespace = folding_whitespace;
  return o;
}

void CheckFailure(const Base64Result& r, std::string_view input) {
  if (r.ok()) return;
  Check(!Base64ErrorName(r.error).empty());
  if (r.error == Base64Error::kIncompleteGroup) {
    Check(r.offset <= input.size());
  } else {
    Check(r.offset < input.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  const Base64Result strict = DecodeBase64(input);
  const Base64Result pad = DecodeBase64(input, Options(true, false));
  const Base64Result fws = DecodeBase64(input, Options(false, true));
  const Base64Result both = DecodeBase64(input, Options(true, true));
  for (const Base64Result* r : {&strict, &pad, &fws, &both}) CheckFailure(*r, input);

  if (strict.ok()) Check(EncodeBase64(strict.bytes) == input);
  if (strict.ok()) Check(pad.ok() && pad.bytes == strict.bytes);
  if (strict.ok()) Check(fws.ok() && fws.bytes == strict.bytes);
  if (pad.ok()) Check(both.ok() && both.bytes == pad.bytes);
  if (fws.ok()) Check(both.ok() && both.bytes == fws.bytes);

  std::string unfolded;
  for (char c : input) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') unfolded.push_back(c);
  }
  const Base64Result unfolded_both = DecodeBase64(unfolded, Options(true, false));
  Check(unfolded_both.ok() == both.ok());
  if (both.ok()) Check(unfolded_both.bytes == both.bytes);

  const std::string encoded = EncodeBase64(input);
  const Base64Result back = DecodeBase64(encoded);
  Check(back.ok() && back.bytes == input);
  std::string appended = "prefix";
  AppendBase64(input, appended);
  Check(appended == "prefix" + encoded);
  return 0;
}
