// map_refresher.cc - the map-writing job and the report of its outcome.
#include "map_refresher.h"

#include <unistd.h>

#include <string>
#include <utility>

#include "listgate/app/log.h"

namespace listgate::app {

MapRefresher::MapRefresher(io::Reactor& reactor, mta::MapSettings settings)
    : settings_(std::move(settings)), worker_(reactor) {}

void MapRefresher::refresh(Table table) {
  worker_.run([this, table = std::move(table)] {
    return [this, outcome = write(*table)] { report(outcome); };
  });
}

MapRefresher::Outcome MapRefresher::write(const table::ListTable& table) const {
  auto began = std::chrono::steady_clock::now();
  Outcome outcome;
  outcome.lists = table.size();
  if (::access(settings_.dir.c_str(), W_OK) != 0) {
    outcome.skipped = true;
  } else {
    outcome.report = mta::write_maps(table, settings_);
  }
  outcome.took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - began);
  return outcome;
}

void MapRefresher::report(const Outcome& outcome) {
  const std::string ms = std::to_string(outcome.took.count() / 1000.0);
  if (outcome.skipped) {
    log_event(Level::info, "maps_skipped", {{"dir", settings_.dir}, {"reason", "directory not writable"}});
  } else if (!outcome.report) {
    ++counters_.failed;
    log_event(Level::error, "maps_failed", {{"dir", settings_.dir}, {"error", outcome.report.error().message},
                                            {"kept", "old postfix maps"}});
  } else {
    ++counters_.ok;
    log_event(Level::info, "maps_written", {{"dir", settings_.dir}, {"lists", outcome.lists},
                                            {"files", outcome.report->written.size()},
                                            {"removed", outcome.report->removed.size()},
                                            {"markers", outcome.report->markers}, {"ms", ms}});
  }
}

}  // namespace listgate::app
