// The one translation unit that compiles Boost.JSON's implementation
// (header-only mode: exactly one TU per binary may include src.hpp). Every
// binary that uses Boost.JSON depends on //base:boost_json instead of
// including src.hpp itself, so two libraries that both parse JSON (mxkit's
// CLI and policy/tlsrpt) link into one binary without duplicate symbols.
#include <boost/json/src.hpp>
