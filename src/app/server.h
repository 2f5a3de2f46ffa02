// server.h - the gateway process: listeners, sessions, table, signals.
//
// Composes the pieces around one reactor: LMTP listeners (TCP or Unix), the
// metrics endpoint, the table reloader (SIGHUP), draining (SIGTERM/SIGINT),
// max_connections and the idle sweep. It holds no protocol logic itself.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "listgate/app/config.h"
#include "listgate/app/metrics.h"
#include "listgate/delivery/deliverer.h"
#include "listgate/io/reactor.h"
#include "listgate/lmtp/session.h"
#include "listgate/table/list_table.h"
#include "delivery_stack.h"
#include "map_refresher.h"
#include "table_reloader.h"

namespace listgate::app {

class LmtpConnection;
class MetricsConnection;

class Server {
 public:
  explicit Server(Config config);
  ~Server();
  // Loads the table, binds the listeners and installs the signal handling.
  Result<void> start();
  // Runs until drained after SIGTERM/SIGINT; returns the exit status.
  int run();

  // For the connection handlers.
  const lmtp::SessionConfig& session_config() const { return session_config_; }
  lmtp::Session::DirectorySource directory_source();
  lmtp::Counters& lmtp_counters() { return counters_; }
  delivery::Deliverer& deliverer() { return delivery_ ? delivery_->deliverer() : *discard_; }
  io::Reactor& reactor() { return *reactor_; }
  std::string render_metrics();
  void touch(LmtpConnection& c);
  void detach(LmtpConnection* c);   // its socket is closed
  void forget(LmtpConnection* c);   // delete it
  void forget(MetricsConnection* c);

 private:
  struct Counters {
    uint64_t connections_total = 0;
    uint64_t connections_refused = 0;
    uint64_t idle_timeouts = 0;
    uint64_t reloads_ok = 0;
    uint64_t reloads_failed = 0;
  };

  Result<void> install_signals();
  Result<void> open_listeners();
  void accept_lmtp(int fd);
  void accept_metrics(int fd);
  void on_signal();
  void on_table(Result<TableReloader::Table> table, std::chrono::microseconds took);
  void sweep_idle();
  void begin_drain();
  void finish_drain();
  void register_metrics();

  Config config_;
  lmtp::SessionConfig session_config_;
  std::unique_ptr<io::Reactor> reactor_;
  std::unique_ptr<delivery::Deliverer> discard_;  // --discard
  std::unique_ptr<DeliveryStack> delivery_;        // otherwise
  std::unique_ptr<TableReloader> reloader_;
  // Rewrites the MTA maps in the table's directory at start and after each
  // reload; none with [mta] incoming: mailman.mta.null.NullMTA.
  std::unique_ptr<MapRefresher> map_refresher_;
  TableReloader::Table table_;
  lmtp::Counters counters_;
  Counters server_counters_;
  MetricsRegistry metrics_;
  int signal_fd_ = -1;
  Address lmtp_bound_;  // config_.mta.lmtp with the port really bound
  size_t sessions_ = 0;
  std::vector<MetricsConnection*> metrics_connections_;
  // The idle list: least recently active first.
  LmtpConnection* idle_head_ = nullptr;
  LmtpConnection* idle_tail_ = nullptr;
  std::chrono::milliseconds sweep_every_{1000};
  bool draining_ = false;
  io::TimerId drain_timer_ = 0;
};

}  // namespace listgate::app
