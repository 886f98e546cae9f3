// The one translation unit of the mxkit binary that compiles Boost.JSON's
// implementation (header-only mode: exactly one TU per binary may include it).
#include <boost/json/src.hpp>
