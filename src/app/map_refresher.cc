// map_refresher.cc - the map-writing worker and its eventfd hand-back.
#include "map_refresher.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "listgate/app/log.h"

namespace listgate::app {

MapRefresher::MapRefresher(io::Reactor& reactor, mta::MapSettings settings)
    : reactor_(reactor), settings_(std::move(settings)) {}

MapRefresher::~MapRefresher() {
  if (worker_.joinable()) worker_.join();
  if (event_fd_ >= 0) ::close(event_fd_);
}

Result<void> MapRefresher::start() {
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) return make_error(std::string("eventfd: ") + std::strerror(errno));
  return reactor_.watch_readable(event_fd_, [this] { on_wakeup(); });
}

void MapRefresher::refresh(Table table) {
  if (worker_.joinable()) {
    next_ = std::move(table);
    return;
  }
  launch(std::move(table));
}

void MapRefresher::launch(Table table) {
  worker_ = std::thread([this, table = std::move(table)] {
    auto began = std::chrono::steady_clock::now();
    auto outcome = std::make_unique<Outcome>();
    outcome->lists = table->size();
    if (::access(settings_.dir.c_str(), W_OK) != 0) {
      outcome->skipped = true;
    } else {
      outcome->report = mta::write_maps(*table, settings_);
    }
    outcome->took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - began);
    outcome_ = std::move(outcome);
    uint64_t one = 1;
    // The eventfd write is the hand-off point: the reactor reads outcome_ after it.
    [[maybe_unused]] ssize_t n = ::write(event_fd_, &one, sizeof one);
  });
}

void MapRefresher::on_wakeup() {
  uint64_t count = 0;
  if (::read(event_fd_, &count, sizeof count) != sizeof count) return;
  if (!worker_.joinable()) return;
  worker_.join();
  std::unique_ptr<Outcome> outcome = std::move(outcome_);
  const std::string ms = std::to_string(outcome->took.count() / 1000.0);
  if (outcome->skipped) {
    log_event(Level::info, "maps_skipped", {{"dir", settings_.dir}, {"reason", "directory not writable"}});
  } else if (!outcome->report) {
    ++counters_.failed;
    log_event(Level::error, "maps_failed", {{"dir", settings_.dir}, {"error", outcome->report.error().message},
                                            {"kept", "old postfix maps"}});
  } else {
    ++counters_.ok;
    log_event(Level::info, "maps_written", {{"dir", settings_.dir}, {"lists", outcome->lists},
                                            {"files", outcome->report->written.size()},
                                            {"removed", outcome->report->removed.size()},
                                            {"markers", outcome->report->markers}, {"ms", ms}});
  }
  if (next_) launch(std::move(next_));
  next_.reset();
}

}  // namespace listgate::app
