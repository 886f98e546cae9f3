// Early return on error for absl::Status and absl::StatusOr, the one home for
// these macros (as abseil's internal RETURN_IF_ERROR and ASSIGN_OR_RETURN,
// which abseil does not export).

#ifndef MXKIT_BASE_STATUS_MACROS_H_
#define MXKIT_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"

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

// Evaluates `expr` (an absl::Status); on error returns it from the enclosing
// function:
//   MXKIT_RETURN_IF_ERROR(Visit(node));
#define MXKIT_RETURN_IF_ERROR(expr)                    \
  do {                                                 \
    absl::Status mxkit_status = (expr);                \
    if (!mxkit_status.ok()) return mxkit_status;       \
  } while (0)

#endif  // MXKIT_BASE_STATUS_MACROS_H_
