// Early return on error for absl::StatusOr, the one home for the macro (as
// abseil's internal ASSIGN_OR_RETURN, which abseil does not export).

#ifndef MXKIT_BASE_STATUS_MACROS_H_
#define MXKIT_BASE_STATUS_MACROS_H_

#include <utility>

// Evaluates `expr` (an absl::StatusOr<T>); on error returns its status from
// the enclosing function, otherwise move-assigns the value to `lhs`, which
// must already be declared:
//   const json::object* o;
//   MXKIT_ASSIGN_OR_RETURN(o, AsObject(v, path));
#define MXKIT_ASSIGN_OR_RETURN(lhs, expr)                         \
  do {                                                            \
    auto mxkit_status_or_value = (expr);                          \
    if (!mxkit_status_or_value.ok()) {                            \
      return std::move(mxkit_status_or_value).status();           \
    }                                                             \
    lhs = *std::move(mxkit_status_or_value);                      \
  } while (0)

#endif  // MXKIT_BASE_STATUS_MACROS_H_
