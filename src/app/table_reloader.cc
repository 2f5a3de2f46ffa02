// table_reloader.cc - the rebuild job.
#include "table_reloader.h"

#include <utility>

namespace listgate::app {

TableReloader::TableReloader(io::Reactor& reactor, std::string path, table::TableOptions options,
                             Finished finished)
    : path_(std::move(path)), options_(options), finished_(std::move(finished)), worker_(reactor) {}

void TableReloader::request() {
  worker_.run([this] {
    auto began = std::chrono::steady_clock::now();
    Result<Table> table = table::load_table_file(path_, options_);
    auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - began);
    return [this, table = std::move(table), took]() mutable { finished_(std::move(table), took); };
  });
}

}  // namespace listgate::app
