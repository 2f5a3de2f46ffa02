// table_reloader.h - builds a new list table off the reactor thread.
//
// SIGHUP asks for a rebuild; a worker thread parses and compiles the table
// file and wakes the reactor through an eventfd (WorkerHandoff), and the
// reactor swaps the result in. Sessions hold the table they started a
// transaction with, so a swap never changes the answer inside a transaction.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "listgate/base/result.h"
#include "listgate/io/reactor.h"
#include "listgate/table/list_table.h"
#include "listgate/table/loader.h"
#include "worker_handoff.h"

namespace listgate::app {

class TableReloader {
 public:
  using Table = std::shared_ptr<const table::ListTable>;
  // Called on the reactor thread with the outcome of each build.
  using Finished = std::function<void(Result<Table> table, std::chrono::microseconds took)>;

  TableReloader(io::Reactor& reactor, std::string path, table::TableOptions options, Finished finished);
  Result<void> start() { return worker_.start(); }
  // Starts a rebuild; one asked for while another runs follows it.
  void request();
  bool busy() const { return worker_.busy(); }

 private:
  std::string path_;
  table::TableOptions options_;
  Finished finished_;
  // Last, so it is destroyed first: its destructor waits for a running
  // build, which reads path_ and options_.
  WorkerHandoff worker_;
};

}  // namespace listgate::app
