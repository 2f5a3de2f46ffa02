// table_reloader.cc - the rebuild worker and its eventfd hand-back.
#include "table_reloader.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace listgate::app {

TableReloader::TableReloader(io::Reactor& reactor, std::string path, table::TableOptions options,
                             Finished finished)
    : reactor_(reactor), path_(std::move(path)), options_(options), finished_(std::move(finished)) {}

TableReloader::~TableReloader() {
  if (worker_.joinable()) worker_.join();
  if (event_fd_ >= 0) ::close(event_fd_);
}

Result<void> TableReloader::start() {
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) return make_error(std::string("eventfd: ") + std::strerror(errno));
  return reactor_.watch_readable(event_fd_, [this] { on_wakeup(); });
}

void TableReloader::request() {
  if (worker_.joinable()) {
    again_ = true;
    return;
  }
  launch();
}

void TableReloader::launch() {
  worker_ = std::thread([this] {
    auto began = std::chrono::steady_clock::now();
    auto result = table::load_table_file(path_, options_);
    took_ = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - began);
    outcome_ = std::make_unique<Result<Table>>(std::move(result));
    uint64_t one = 1;
    // The eventfd write is the hand-off point: the reactor reads outcome_ after it.
    [[maybe_unused]] ssize_t n = ::write(event_fd_, &one, sizeof one);
  });
}

void TableReloader::on_wakeup() {
  uint64_t count = 0;
  if (::read(event_fd_, &count, sizeof count) != sizeof count) return;
  if (!worker_.joinable()) return;
  worker_.join();
  std::unique_ptr<Result<Table>> outcome = std::move(outcome_);
  finished_(std::move(*outcome), took_);
  if (again_) {
    again_ = false;
    launch();
  }
}

}  // namespace listgate::app
