// load_runner.cc - see load_runner.h.
#include "load_runner.h"

#include <memory>

#include "listgate/base/concat.h"
#include "listgate/io/reactor.h"
#include "listgate/io/socket.h"
#include "load_connection.h"

namespace listgate::loadbench {
namespace {

constexpr size_t kErrorsKept = 5;
// A run where no reply at all arrives for this long is given up.
constexpr std::chrono::seconds kStallTimeout{30};

// Grows with every reply the sessions handle.
uint64_t progress_of(const LoadCounters& c) {
  return c.connections_opened + c.rcpt_accepted + c.rcpt_refused + c.messages_completed + c.messages_no_recipient +
         c.mail_refused;
}

io::IoMode io_mode(app::IoBackend b) {
  switch (b) {
    case app::IoBackend::uring:
      return io::IoMode::uring;
    case app::IoBackend::epoll:
      return io::IoMode::epoll;
    case app::IoBackend::automatic:
      break;
  }
  return io::IoMode::automatic;
}

class Run final : public ConnectionEvents {
 public:
  Run(const RunSettings& s, Workload& w, RunObserver* o) : settings_(s), workload_(w), observer_(o) {}

  Result<RunResult> execute() {
    std::string why_not;
    auto reactor = io::Reactor::create(io_mode(settings_.io), &why_not);
    if (!reactor.ok()) return reactor.error();
    reactor_ = std::move(reactor.value());
    result_.backend = reactor_->backend_name();
    result_.tick = settings_.tick;

    auto peer = resolve();
    if (!peer.ok()) return peer.error();

    start_ = io::Clock::now();
    last_progress_at_ = start_;
    SessionOptions options{workload_.lhlo(), workload_.quit(), workload_.rset(), settings_.overlap};
    for (uint32_t i = 0; i < settings_.connections; ++i) {
      connections_.push_back(
          std::make_unique<LoadConnection>(*this, workload_, result_.counters, result_.latency, options));
      ++active_;
      auto fd = io::start_connect(peer.value());
      if (fd.ok()) {
        connections_.back()->connect(*reactor_, fd.value());
      } else {
        connections_.back()->connect_failed(fd.error().message);
      }
    }
    if (active_ > 0) {
      reactor_->add_timer(settings_.tick, [this] { on_tick(); });
      if (settings_.duration.count() > 0) reactor_->add_timer(settings_.duration, [this] { stop_sending(); });
      reactor_->run();
    }
    finish_timeline();
    if (observer_ != nullptr) observer_->on_end();
    const io::Clock::time_point end =
        result_.counters.messages_completed > 0 ? result_.counters.last_completion : io::Clock::now();
    result_.seconds = std::chrono::duration<double>(end - start_).count();
    connections_.clear();  // the handlers first: the reactor calls none of them as it goes
    reactor_.reset();
    return std::move(result_);
  }

  void connection_finished() override {
    if (--active_ == 0) reactor_->stop();
  }
  // Keeps the first few distinct messages.
  void note_error(std::string_view what) override {
    if (result_.first_errors.size() >= kErrorsKept) return;
    for (const std::string& e : result_.first_errors) {
      if (e == what) return;
    }
    result_.first_errors.emplace_back(what);
  }

 private:
  Result<io::PeerAddress> resolve() {
    const app::Address& t = settings_.target;
    if (t.is_unix()) return io::unix_peer(t.path);
    auto peers = io::resolve_peer(t.host, t.port);
    if (!peers.ok()) return peers.error();
    if (peers->empty()) return make_error(concat({"no address for ", t.host}));
    return peers->front();
  }

  void on_tick() {
    sample();
    watch_progress();
    if (!draining_ && workload_.exhausted()) start_draining();
    if (observer_ != nullptr) {
      observer_->on_tick(std::chrono::duration<double>(io::Clock::now() - start_).count(), result_.counters,
                         result_.completed_per_tick.back());
    }
    reactor_->add_timer(settings_.tick, [this] { on_tick(); });
  }

  void sample() {
    const uint64_t done = result_.counters.messages_completed;
    result_.completed_per_tick.push_back(done - sampled_);
    sampled_ = done;
  }

  void watch_progress() {
    const uint64_t progress = progress_of(result_.counters);
    const io::Clock::time_point now = io::Clock::now();
    if (progress != last_progress_) {
      last_progress_ = progress;
      last_progress_at_ = now;
    } else if (now - last_progress_at_ > kStallTimeout) {
      note_error("no reply from the server for 30 s: giving up");
      give_up_all();
    }
  }

  void finish_timeline() { result_.completed_after_last_tick = result_.counters.messages_completed - sampled_; }

  void stop_sending() {
    workload_.stop();
    if (!draining_) start_draining();
  }

  // No new transactions from now on: what is in flight has drain_timeout.
  void start_draining() {
    draining_ = true;
    reactor_->add_timer(settings_.drain_timeout, [this] { give_up_all(); });
  }

  void give_up_all() {
    for (auto& c : connections_) c->give_up();
  }

  const RunSettings& settings_;
  Workload& workload_;
  RunObserver* observer_;
  std::unique_ptr<io::Reactor> reactor_;
  std::vector<std::unique_ptr<LoadConnection>> connections_;
  RunResult result_;
  io::Clock::time_point start_{};
  io::Clock::time_point last_progress_at_{};
  uint64_t last_progress_ = 0;
  uint64_t sampled_ = 0;
  bool draining_ = false;
  size_t active_ = 0;
};

}  // namespace

Result<RunResult> run_load(const RunSettings& settings, Workload& workload, RunObserver* observer) {
  Run run(settings, workload, observer);
  return run.execute();
}

}  // namespace listgate::loadbench
