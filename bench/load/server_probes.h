// server_probes.h - reading the servers e2e runs: start-up lines, the
// sink's `stats`, listgate's Prometheus metrics.
//
// Blocking little exchanges with a timeout, done before and after the load
// (never during it); the parsers are pure and unit-tested.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "listgate/app/config.h"
#include "listgate/base/result.h"

namespace listgate::loadbench {

using SinkStats = std::map<std::string, uint64_t, std::less<>>;
using Metrics = std::map<std::string, double, std::less<>>;

// The value of `key=` in a `key=value` log line (quotes removed); empty
// when the key is missing.
std::string line_field(std::string_view line, std::string_view key);

// "ok connections=3 active=0 ..." -> {connections: 3, active: 0, ...};
// an error when the line does not start with "ok ".
Result<SinkStats> parse_sink_stats(std::string_view line);
// Prometheus text: `name{labels} value` per sample line, comments skipped.
Metrics parse_prometheus_text(std::string_view text);

// One `stats` exchange on the sink's control port.
Result<SinkStats> fetch_sink_stats(const app::Address& control, std::chrono::milliseconds timeout);
// GET /metrics from listgate's metrics endpoint.
Result<Metrics> fetch_metrics(const app::Address& metrics, std::chrono::milliseconds timeout);

}  // namespace listgate::loadbench
