// Messages for the DKIM differential tests (dkimpy_diff_test,
// opendkim_diff_test): each stresses canonicalization or header selection,
// so both peers are asked the same questions. All are valid RFC 5322 except
// where the name says otherwise (no final CRLF, bare CR or LF, no header/body
// separator: RFC 6376 §3.4 says what a verifier does with each).

#ifndef MXKIT_AUTH_DKIM_TESTING_MESSAGE_CASES_H_
#define MXKIT_AUTH_DKIM_TESTING_MESSAGE_CASES_H_

#include <string>
#include <vector>

namespace mxkit::auth::dkim::testing {

struct MessageCase {
  const char* name;
  std::string text;
};

std::vector<MessageCase> CanonicalizationMessages();

}  // namespace mxkit::auth::dkim::testing

#endif  // MXKIT_AUTH_DKIM_TESTING_MESSAGE_CASES_H_
