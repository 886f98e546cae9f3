#include "auth/spf/testing/rfc7208_suite.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "base/ascii.h"
#include "yaml-cpp/yaml.h"

namespace mxkit::auth::spf::testing {
namespace {

using base::AsciiLower;

std::string StripDot(std::string s) {
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// yaml-cpp hands back UTF-8 (a "\x96" escape becomes U+0096). The suite's
// bytes are Latin-1: fold code points up to U+00FF back into single bytes so
// "\xEF\xBB\xBF" reaches the evaluator as those three bytes.
std::string Latin1(const std::string& utf8) {
  std::string out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(utf8[i]);
    if ((c == 0xC2 || c == 0xC3) && i + 1 < utf8.size() &&
        (static_cast<unsigned char>(utf8[i + 1]) & 0xC0) == 0x80) {
      out.push_back(static_cast<char>(((c & 0x03) << 6) | (utf8[i + 1] & 0x3F)));
      ++i;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string Scalar(const YAML::Node& node) {
  if (!node || node.IsNull()) return "";
  return Latin1(node.as<std::string>());
}

absl::Status Bad(const std::string& where, const std::string& what) {
  return absl::InvalidArgumentError(where + ": " + what);
}

absl::Status AddRecord(const std::string& owner, const std::string& type, const YAML::Node& value,
                       SuiteScenario& scenario, bool& has_txt, std::vector<dns::ResourceRecord>& spf) {
  dns::ResourceRecord rr;
  rr.name = owner;
  rr.ttl = 3600;
  std::string where = "zonedata " + owner + " " + type;
  if (type == "SPF" || type == "TXT") {
    dns::TxtData txt;
    if (value.IsSequence()) {
      for (const YAML::Node& s : value) txt.strings.push_back(Scalar(s));
    } else {
      std::string s = Scalar(value);
      if (type == "TXT" && s == "NONE") {
        has_txt = true;  // explicit "no TXT": suppresses SPF-as-TXT
        return absl::OkStatus();
      }
      txt.strings.push_back(s);
    }
    if (type == "TXT") {
      has_txt = true;
      rr.type = dns::RrType::kTxt;
    } else {
      rr.type = kSpfType;
      spf.push_back(rr);
      spf.back().data = txt;
    }
    rr.data = std::move(txt);
  } else if (type == "A" || type == "AAAA") {
    std::string text = Scalar(value);
    if (type == "A") {
      dns::AData a;
      if (inet_pton(AF_INET, text.c_str(), a.address.data()) != 1) return Bad(where, "bad address " + text);
      rr.type = dns::RrType::kA;
      rr.data = a;
    } else {
      dns::AaaaData a;
      if (inet_pton(AF_INET6, text.c_str(), a.address.data()) != 1) return Bad(where, "bad address " + text);
      rr.type = dns::RrType::kAaaa;
      rr.data = a;
    }
  } else if (type == "MX") {
    if (!value.IsSequence() || value.size() != 2) return Bad(where, "MX wants [preference, host]");
    rr.type = dns::RrType::kMx;
    rr.data = dns::MxData{static_cast<uint16_t>(value[0].as<int>()), StripDot(Scalar(value[1]))};
  } else if (type == "PTR" || type == "CNAME") {
    rr.type = type == "PTR" ? dns::RrType::kPtr : dns::RrType::kCname;
    rr.data = dns::NameData{StripDot(Scalar(value))};
  } else {
    return Bad(where, "unknown record type");
  }
  scenario.records.push_back(std::move(rr));
  return absl::OkStatus();
}

absl::Status ParseDocument(const YAML::Node& doc, size_t index, Suite& suite) {
  SuiteScenario scenario;
  scenario.description = Scalar(doc["description"]);
  std::string where = "document " + std::to_string(index + 1) + " (" + scenario.description + ")";
  const YAML::Node zonedata = doc["zonedata"];
  if (zonedata && zonedata.IsMap()) {
    for (const auto& entry : zonedata) {
      std::string owner = StripDot(Scalar(entry.first));
      bool has_txt = false;
      std::vector<dns::ResourceRecord> spf;
      for (const YAML::Node& item : entry.second) {
        if (item.IsScalar()) {
          if (Scalar(item) != "TIMEOUT") return Bad(where, "unknown zone item at " + owner);
          scenario.timeout_names.insert(AsciiLower(owner));
          continue;
        }
        if (!item.IsMap() || item.size() != 1) return Bad(where, "zone item at " + owner + " is not TYPE: value");
        auto kv = *item.begin();
        if (absl::Status s = AddRecord(owner, Scalar(kv.first), kv.second, scenario, has_txt, spf); !s.ok()) {
          return Bad(where, std::string(s.message()));
        }
      }
      if (!has_txt) {
        for (dns::ResourceRecord rr : spf) {
          rr.type = dns::RrType::kTxt;
          scenario.records.push_back(std::move(rr));
        }
      }
    }
  }
  size_t scenario_index = suite.scenarios.size();
  const YAML::Node tests = doc["tests"];
  if (!tests || !tests.IsMap()) return Bad(where, "no tests");
  for (const auto& entry : tests) {
    SuiteTest t;
    t.name = Scalar(entry.first);
    const YAML::Node& v = entry.second;
    t.description = Scalar(v["description"]);
    t.spec = Scalar(v["spec"]);
    t.helo = Scalar(v["helo"]);
    t.host = Scalar(v["host"]);
    t.mailfrom = Scalar(v["mailfrom"]);
    const YAML::Node result = v["result"];
    if (!result) return Bad(where, "test " + t.name + " has no result");
    if (result.IsSequence()) {
      for (const YAML::Node& r : result) t.results.push_back(Scalar(r));
    } else {
      t.results.push_back(Scalar(result));
    }
    if (v["explanation"]) t.explanation = Scalar(v["explanation"]);
    t.scenario = scenario_index;
    suite.tests.push_back(std::move(t));
  }
  suite.scenarios.push_back(std::move(scenario));
  return absl::OkStatus();
}

}  // namespace

std::string SuitePath() {
  const char* shared = std::getenv("MXKIT_SHARED_DIR");
  if (shared == nullptr || *shared == '\0') return "";
  return std::string(shared) + "/conformance/spf/rfc7208-tests.yml";
}

absl::StatusOr<Suite> ParseSuite(std::string_view yaml_text) {
  Suite suite;
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(std::string(yaml_text));
    for (size_t i = 0; i < docs.size(); ++i) {
      if (!docs[i] || docs[i].IsNull()) continue;
      if (absl::Status s = ParseDocument(docs[i], i, suite); !s.ok()) return s;
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(std::string("YAML: ") + e.what());
  }
  return suite;
}

absl::StatusOr<Suite> LoadSuite(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot open " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseSuite(buffer.str());
}

dns::Zone ScenarioZone(const SuiteScenario& scenario) {
  dns::Zone zone;
  zone.records = scenario.records;
  absl::flat_hash_map<std::string, std::set<dns::RrType>> types;
  for (const dns::ResourceRecord& rr : scenario.records) types[AsciiLower(rr.name)].insert(rr.type);
  for (const std::string& name : scenario.timeout_names) {
    auto found = types.find(name);
    if (found == types.end()) {
      zone.faults.push_back({name, dns::Fault::kTimeout, std::nullopt});
      continue;
    }
    // pyspf's driver times out only the types with no records listed
    // (spftimeout: TXT present, TIMEOUT after it, result fail).
    for (dns::RrType type : kTimeoutTypes) {
      if (found->second.count(type) == 0) zone.faults.push_back({name, dns::Fault::kTimeout, type});
    }
  }
  return zone;
}

SuiteResolver::SuiteResolver(const SuiteScenario& scenario) {
  dns::Zone zone = ScenarioZone(scenario);
  for (dns::ResourceRecord& rr : zone.records) zone_.Add(std::move(rr));
  for (const dns::ZoneFault& fault : zone.faults) {
    if (fault.type) {
      zone_.AddFault(fault.name, *fault.type, fault.fault);
    } else {
      zone_.AddFault(fault.name, fault.fault);
    }
  }
}

void SuiteResolver::Lookup(std::string_view name, dns::RrType type, Callback done) {
  zone_.Lookup(name, type, std::move(done));
}

dns::LookupResult SuiteResolver::LookupSync(std::string_view name, dns::RrType type) {
  return zone_.LookupSync(name, type);
}

}  // namespace mxkit::auth::spf::testing
