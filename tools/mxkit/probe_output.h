// How `mxkit probe` prints a probe::ProbeReport: one JSON object (--json,
// fields documented in README.md) or lines for humans.

#ifndef MXKIT_TOOLS_MXKIT_PROBE_OUTPUT_H_
#define MXKIT_TOOLS_MXKIT_PROBE_OUTPUT_H_

#include <iosfwd>

#include "boost/json.hpp"
#include "probe/probe.h"

namespace mxkit::cli {

boost::json::object ProbeReportJson(const probe::ProbeReport& report);
void PrintProbeReport(std::ostream& out, const probe::ProbeReport& report);

}  // namespace mxkit::cli

#endif  // MXKIT_TOOLS_MXKIT_PROBE_OUTPUT_H_
