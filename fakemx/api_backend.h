// What fakemx's HTTP API (fakemx/api_server.h) needs from the running fakemx:
// the capture, the scenario (to read and to switch), and the counters for
// /metrics. fakemx::Instance (fakemx/instance.h) implements it; tests of the
// API implement it over a bare CaptureStore. Every call is made on the
// io_context thread that runs the servers.

#ifndef MXKIT_FAKEMX_API_BACKEND_H_
#define MXKIT_FAKEMX_API_BACKEND_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "fakemx/capture.h"

namespace mxkit::fakemx {

// One listening socket, for the scenario endpoint.
struct ApiListener {
  std::string receiver;  // "example.test"; "" for fakemx's own services
  std::string kind;      // "smtp", "smtps", "dns-udp", "dns-tcp", "mta-sts", "api"
  std::string endpoint;  // FormatEndpoint: "127.0.0.1:2525", "[::1]:25"
};

struct ApiScenario {
  std::string name;     // "good", or the file's scenario name
  std::string source;   // "catalogue" or the file's path, or "api" after a switch by text
  std::string yaml;     // the scenario text as loaded ("" when built in C++)
  std::vector<std::string> receivers;  // names, in order
  std::vector<ApiListener> listeners;
  uint64_t generation = 0;  // 0 at start, +1 per switch
};

// One Prometheus metric family (text exposition format 0.0.4). Labels are
// written already formatted ("code=\"250\""), "" for none.
struct MetricFamily {
  std::string name;  // "fakemx_messages_total"
  std::string help;
  std::string type;  // "counter" or "gauge"
  std::vector<std::pair<std::string, double>> samples;  // {labels, value}
};

class ApiBackend {
 public:
  virtual ~ApiBackend() = default;

  virtual CaptureStore& capture() = 0;
  virtual ApiScenario scenario() const = 0;
  // Replaces the running scenario by `spec`: a catalogue name, or YAML text
  // (starts with a YAML document, i.e. contains a newline or ':'). New
  // connections get the new one; open ones finish under the old. `done`
  // runs on the io_context, with the new scenario, or InvalidArgument
  // carrying the parser's "line:column: what" for a bad one (nothing
  // changed then), or another error when a listener could not be bound
  // (the old scenario keeps running).
  virtual void SwitchScenario(std::string spec,
                              std::function<void(absl::StatusOr<ApiScenario>)> done) = 0;
  // Connections, messages, replies by code, TLS handshakes by outcome,
  // verdict counts, evictions, DNS queries.
  virtual std::vector<MetricFamily> Metrics() const = 0;
};

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_API_BACKEND_H_
