// map_refresher.h - regenerates the MTA's files after the table changed,
// off the reactor thread.
//
// refresh() hands the table to a worker thread that writes the maps
// (src/mta: file writes, fsync, postmap as a child process) and wakes the
// reactor through an eventfd; the outcome is logged and counted there. A
// refresh asked for while one runs follows it, with the newest table. A
// directory that is not writable is skipped with a log line: the operator
// then runs `listgate aliases --dir` elsewhere, and that is no failure.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <thread>

#include "listgate/base/result.h"
#include "listgate/io/reactor.h"
#include "listgate/mta/map_writer.h"
#include "listgate/table/list_table.h"

namespace listgate::app {

class MapRefresher {
 public:
  using Table = std::shared_ptr<const table::ListTable>;
  struct Counters {
    uint64_t ok = 0;
    uint64_t failed = 0;
  };

  MapRefresher(io::Reactor& reactor, mta::MapSettings settings);
  ~MapRefresher();
  Result<void> start();
  // On the reactor thread.
  void refresh(Table table);
  const Counters& counters() const { return counters_; }
  bool busy() const { return worker_.joinable(); }

 private:
  struct Outcome {
    bool skipped = false;  // directory not writable
    Result<mta::MapWriteReport> report = mta::MapWriteReport{};
    size_t lists = 0;
    std::chrono::microseconds took{0};
  };
  void launch(Table table);
  void on_wakeup();

  io::Reactor& reactor_;
  mta::MapSettings settings_;
  int event_fd_ = -1;
  std::thread worker_;
  // Written by the worker before it signals the eventfd, read after.
  std::unique_ptr<Outcome> outcome_;
  Table next_;  // asked for while the worker ran
  Counters counters_;
};

}  // namespace listgate::app
