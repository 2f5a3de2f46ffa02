// map_refresher.h - regenerates the MTA's files after the table changed,
// off the reactor thread.
//
// refresh() hands the table to a worker thread that writes the maps
// (src/mta: file writes, fsync, postmap as a child process) and wakes the
// reactor through an eventfd (WorkerHandoff); the outcome is logged and
// counted there. A refresh asked for while one runs follows it, with the
// newest table. A directory that is not writable is skipped with a log line:
// the operator then runs `listgate aliases --dir` elsewhere, and that is no
// failure.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "listgate/base/result.h"
#include "listgate/io/reactor.h"
#include "listgate/mta/map_writer.h"
#include "listgate/table/list_table.h"
#include "worker_handoff.h"

namespace listgate::app {

class MapRefresher {
 public:
  using Table = std::shared_ptr<const table::ListTable>;
  struct Counters {
    uint64_t ok = 0;
    uint64_t failed = 0;
  };

  MapRefresher(io::Reactor& reactor, mta::MapSettings settings);
  Result<void> start() { return worker_.start(); }
  // On the reactor thread.
  void refresh(Table table);
  const Counters& counters() const { return counters_; }
  bool busy() const { return worker_.busy(); }

 private:
  struct Outcome {
    bool skipped = false;  // directory not writable
    Result<mta::MapWriteReport> report = mta::MapWriteReport{};
    size_t lists = 0;
    std::chrono::microseconds took{0};
  };
  Outcome write(const table::ListTable& table) const;  // on the worker
  void report(const Outcome& outcome);                 // on the reactor thread

  mta::MapSettings settings_;
  Counters counters_;
  // Last, so it is destroyed first: its destructor waits for a running job,
  // which reads settings_.
  WorkerHandoff worker_;
};

}  // namespace listgate::app
