// server.cc - the gateway process around one reactor.
#include "server.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "listgate/app/log.h"
#include "listgate/io/signals.h"
#include "listgate/io/socket.h"
#include "lmtp_connection.h"
#include "map_settings.h"
#include "metrics_connection.h"

namespace listgate::app {

namespace {

io::IoMode io_mode(IoBackend b) {
  switch (b) {
    case IoBackend::uring: return io::IoMode::uring;
    case IoBackend::epoll: return io::IoMode::epoll;
    case IoBackend::automatic: break;
  }
  return io::IoMode::automatic;
}

Result<int> listen_on(const Address& a) {
  if (a.is_unix()) return io::listen_unix(a.path);
  return io::listen_tcp(a.host, a.port);
}

// What a listener is really bound to (port 0 picks one; tests read it here).
std::string bound_text(const Address& a, int fd) {
  if (a.is_unix()) return a.to_string();
  Address bound = a;
  bound.port = io::bound_port(fd);
  return bound.to_string();
}

constexpr std::chrono::milliseconds kMinSweep{50};
constexpr std::chrono::milliseconds kMaxSweep{1000};

}  // namespace

Server::Server(Config config) : config_(std::move(config)) {
  session_config_.hostname = config_.listgate.hostname;
  session_config_.limits.max_message_size = config_.listgate.max_message_size;
  session_config_.limits.max_transaction_recipients = config_.listgate.max_transaction_recipients;
  auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(config_.listgate.idle_timeout);
  sweep_every_ = std::clamp(idle / 4, kMinSweep, kMaxSweep);
}

Server::~Server() {
  while (idle_head_ != nullptr) {
    LmtpConnection* c = idle_head_;
    detach(c);
    delete c;
  }
  for (MetricsConnection* m : metrics_connections_) delete m;
  if (signal_fd_ >= 0) ::close(signal_fd_);
}

lmtp::Session::DirectorySource Server::directory_source() {
  return [this]() -> std::shared_ptr<const table::Directory> { return table_; };
}

Result<void> Server::start() {
  table::TableOptions table_options;
  table_options.verp_delimiter = config_.mta.verp_delimiter.empty() ? '+' : config_.mta.verp_delimiter[0];
  auto loaded = table::load_table_file(config_.listgate.table, table_options);
  if (!loaded.ok()) return loaded.error();
  table_ = std::move(loaded.value());
  log_event(Level::info, "table_loaded", {{"file", config_.listgate.table},
                                          {"lists", std::to_string(table_->size())}});

  std::string why_not;
  auto reactor = io::Reactor::create(io_mode(config_.listgate.io), &why_not);
  if (!reactor.ok()) return reactor.error();
  reactor_ = std::move(reactor.value());
  if (!why_not.empty()) log_event(Level::warning, "io_uring_unavailable", {{"reason", why_not}, {"using", "epoll"}});
  log_event(Level::info, "io_backend", {{"backend", reactor_->backend_name()}});

  if (config_.discard) {
    discard_ = std::make_unique<delivery::DiscardDeliverer>();
  } else {
    auto stack = DeliveryStack::open(config_, *reactor_);
    if (!stack) return stack.error();
    delivery_ = std::move(*stack);
    log_event(Level::info, "delivery", {{"smtp", config_.mta.smtp.to_string()},
                                        {"pool_size", config_.listgate.smtp_pool_size},
                                        {"spool_dir", config_.listgate.spool_dir},
                                        {"bounce_log", config_.listgate.bounce_log}});
  }

  auto signals = install_signals();
  if (!signals.ok()) return signals;
  reloader_ = std::make_unique<TableReloader>(
      *reactor_, config_.listgate.table, table_options,
      [this](Result<TableReloader::Table> t, std::chrono::microseconds took) { on_table(std::move(t), took); });
  auto reloader_started = reloader_->start();
  if (!reloader_started.ok()) return reloader_started;
  auto listening = open_listeners();
  if (!listening.ok()) return listening;
  // After the listeners: with lmtp_port 0 the maps name the port bound.
  if (config_.mta.incoming != IncomingMta::null) {
    map_refresher_ = std::make_unique<MapRefresher>(
        *reactor_, map_settings(config_, table_directory(config_.listgate.table), lmtp_bound_));
    auto refresher_started = map_refresher_->start();
    if (!refresher_started.ok()) return refresher_started;
    map_refresher_->refresh(table_);
  }
  register_metrics();
  reactor_->add_timer(sweep_every_, [this] { sweep_idle(); });
  return {};
}

Result<void> Server::install_signals() {
  auto fd = io::open_signalfd({SIGHUP, SIGTERM, SIGINT});
  if (!fd.ok()) return fd.error();
  signal_fd_ = fd.value();
  return reactor_->watch_readable(signal_fd_, [this] { on_signal(); });
}

Result<void> Server::open_listeners() {
  auto lmtp_fd = listen_on(config_.mta.lmtp);
  if (!lmtp_fd.ok()) return lmtp_fd.error();
  auto listening = reactor_->listen(lmtp_fd.value(), [this](int fd) { accept_lmtp(fd); });
  if (!listening.ok()) return listening;
  std::string lmtp_text = bound_text(config_.mta.lmtp, lmtp_fd.value());
  lmtp_bound_ = config_.mta.lmtp;
  if (!lmtp_bound_.is_unix()) lmtp_bound_.port = io::bound_port(lmtp_fd.value());

  std::string metrics_text = "off";
  if (config_.listgate.metrics) {
    auto metrics_fd = listen_on(*config_.listgate.metrics);
    if (!metrics_fd.ok()) return metrics_fd.error();
    auto m = reactor_->listen(metrics_fd.value(), [this](int fd) { accept_metrics(fd); });
    if (!m.ok()) return m;
    metrics_text = bound_text(*config_.listgate.metrics, metrics_fd.value());
  }
  log_event(Level::info, "listening", {{"lmtp", lmtp_text}, {"metrics", metrics_text},
                                       {"mode", config_.discard ? "discard" : "relay"}});
  return {};
}

void Server::accept_lmtp(int fd) {
  ++server_counters_.connections_total;
  if (draining_ || sessions_ >= config_.listgate.max_connections) {
    ++server_counters_.connections_refused;
    // A fresh socket's send buffer is empty: this short write cannot block.
    [[maybe_unused]] ssize_t n =
        ::send(fd, lmtp::kTooManyConnectionsReply.data(), lmtp::kTooManyConnectionsReply.size(),
               MSG_DONTWAIT | MSG_NOSIGNAL);
    ::close(fd);
    return;
  }
  ++sessions_;
  auto* handler = new LmtpConnection(*this, nullptr);
  io::Connection* conn = reactor_->attach(fd, handler);
  handler->bind(conn);
  touch(*handler);
  handler->start();
}

void Server::accept_metrics(int fd) {
  auto* handler = new MetricsConnection(*this);
  io::Connection* conn = reactor_->attach(fd, handler);
  handler->bind(conn);
  metrics_connections_.push_back(handler);
}

void Server::touch(LmtpConnection& c) {
  c.last_active = reactor_->now();
  if (idle_tail_ == &c) return;
  // Unlink (if linked) and append at the tail: the list stays ordered by activity.
  if (c.idle_prev != nullptr || idle_head_ == &c) {
    if (c.idle_prev) c.idle_prev->idle_next = c.idle_next;
    else idle_head_ = c.idle_next;
    if (c.idle_next) c.idle_next->idle_prev = c.idle_prev;
    else idle_tail_ = c.idle_prev;
  }
  c.idle_prev = idle_tail_;
  c.idle_next = nullptr;
  if (idle_tail_) idle_tail_->idle_next = &c;
  else idle_head_ = &c;
  idle_tail_ = &c;
}

void Server::detach(LmtpConnection* c) {
  if (c->idle_prev == nullptr && idle_head_ != c) return;  // not linked
  if (c->idle_prev) c->idle_prev->idle_next = c->idle_next;
  else idle_head_ = c->idle_next;
  if (c->idle_next) c->idle_next->idle_prev = c->idle_prev;
  else idle_tail_ = c->idle_prev;
  c->idle_prev = c->idle_next = nullptr;
  --sessions_;
  if (draining_ && sessions_ == 0) finish_drain();
}

void Server::forget(LmtpConnection* c) { delete c; }

void Server::forget(MetricsConnection* c) {
  metrics_connections_.erase(std::remove(metrics_connections_.begin(), metrics_connections_.end(), c),
                             metrics_connections_.end());
  delete c;
}

void Server::sweep_idle() {
  auto limit = reactor_->now() - config_.listgate.idle_timeout;
  while (idle_head_ != nullptr && idle_head_->last_active <= limit) {
    if (idle_head_->delivering()) {  // a slow upstream is not the client's idleness
      touch(*idle_head_);
      continue;
    }
    ++server_counters_.idle_timeouts;
    idle_head_->idle_timeout();  // closes and detaches it
  }
  reactor_->add_timer(sweep_every_, [this] { sweep_idle(); });
}

void Server::on_signal() {
  signalfd_siginfo info{};
  while (::read(signal_fd_, &info, sizeof info) == sizeof info) {
    if (info.ssi_signo == SIGHUP) {
      log_event(Level::info, "reload_requested", {{"file", config_.listgate.table}});
      reloader_->request();
    } else if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT) {
      begin_drain();
    }
  }
}

void Server::on_table(Result<TableReloader::Table> table, std::chrono::microseconds took) {
  if (!table.ok()) {
    ++server_counters_.reloads_failed;
    log_event(Level::error, "reload_failed", {{"error", table.error().message}, {"kept_lists", std::to_string(table_->size())}});
    return;
  }
  table_ = std::move(table.value());
  ++server_counters_.reloads_ok;
  log_event(Level::info, "reload_ok", {{"lists", std::to_string(table_->size())},
                                       {"ms", std::to_string(took.count() / 1000.0)}});
  if (map_refresher_) map_refresher_->refresh(table_);
}

void Server::begin_drain() {
  if (draining_) return;
  draining_ = true;
  log_event(Level::info, "draining", {{"sessions", std::to_string(sessions_)}});
  reactor_->stop_listening();
  for (MetricsConnection* m : std::vector<MetricsConnection*>(metrics_connections_)) m->close();
  // Idle sessions close now; those inside a transaction finish it first.
  std::vector<LmtpConnection*> all;
  for (LmtpConnection* c = idle_head_; c != nullptr; c = c->idle_next) all.push_back(c);
  for (LmtpConnection* c : all) c->shutdown();
  if (sessions_ == 0) {
    finish_drain();
    return;
  }
  auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config_.listgate.drain_timeout);
  drain_timer_ = reactor_->add_timer(timeout, [this] {
    drain_timer_ = 0;
    log_event(Level::warning, "drain_timeout", {{"sessions", std::to_string(sessions_)}});
    std::vector<LmtpConnection*> left;
    for (LmtpConnection* c = idle_head_; c != nullptr; c = c->idle_next) left.push_back(c);
    for (LmtpConnection* c : left) c->idle_timeout();
    finish_drain();
  });
}

void Server::finish_drain() {
  if (drain_timer_ != 0) reactor_->cancel_timer(drain_timer_);
  drain_timer_ = 0;
  if (delivery_) delivery_->quit_idle();
  reactor_->stop();
}

void Server::register_metrics() {
  const lmtp::Counters& l = counters_;
  const Counters& s = server_counters_;
  metrics_.gauge("listgate_connections", "LMTP connections open now.", [this] { return double(sessions_); });
  metrics_.counter("listgate_connections_total", "LMTP connections accepted.", &s.connections_total);
  metrics_.counter("listgate_connections_refused_total", "LMTP connections refused (max_connections or draining).",
          &s.connections_refused);
  metrics_.counter("listgate_idle_timeouts_total", "LMTP sessions closed for idleness.", &s.idle_timeouts);
  metrics_.counter("listgate_commands_total", "LMTP commands read.", &l.commands);
  metrics_.counter("listgate_transactions_total", "Messages whose final dot was read.", &l.transactions);
  metrics_.counter("listgate_recipients_total", "RCPT commands by outcome.", &l.recipients_accepted,
          {{"result", "accepted"}});
  const std::pair<const char*, const uint64_t*> rejected[] = {
      {"unknown_domain", &l.rejected_unknown_domain}, {"unknown_list", &l.rejected_unknown_list},
      {"needs_backend", &l.rejected_needs_backend},   {"bad_address", &l.rejected_bad_address},
      {"too_many", &l.rejected_too_many}};
  for (auto [reason, value] : rejected)
    metrics_.counter("listgate_recipients_rejected_total", "RCPT commands refused, by reason.", value,
            {{"reason", reason}});
  metrics_.counter("listgate_messages_too_big_total", "Messages refused with 552 5.3.4.", &l.messages_too_big);
  metrics_.counter("listgate_command_errors_total", "Commands answered 500/501/503/555.", &l.command_errors);
  metrics_.counter("listgate_lines_too_long_total", "Command lines over 1000 octets.", &l.lines_too_long);
  metrics_.counter("listgate_body_bytes_total", "Message body octets received.", &l.body_bytes);
  metrics_.counter("listgate_body_bytes_copied_total", "Message body octets copied after receipt.", &l.body_bytes_copied);
  metrics_.counter("listgate_reloads_total", "Table reloads by result.", &s.reloads_ok, {{"result", "ok"}});
  metrics_.counter("listgate_reloads_total", "Table reloads by result.", &s.reloads_failed, {{"result", "failed"}});
  if (map_refresher_) {
    const MapRefresher::Counters& maps = map_refresher_->counters();
    const char* maps_help = "MTA map regenerations (start-up and reloads) by result.";
    metrics_.counter("listgate_map_writes_total", maps_help, &maps.ok, {{"result", "ok"}});
    metrics_.counter("listgate_map_writes_total", maps_help, &maps.failed, {{"result", "failed"}});
  }
  metrics_.gauge("listgate_table_lists", "Lists in the table serving now.", [this] { return double(table_->size()); });
  const io::Reactor::Stats& io_stats = reactor_->stats();
  metrics_.counter("listgate_bytes_in_total", "Octets received on all sockets.", &io_stats.bytes_in);
  metrics_.counter("listgate_bytes_out_total", "Octets sent on all sockets.", &io_stats.bytes_out);
  metrics_.counter("listgate_io_loop_turns_total", "Reactor loop turns (wake-ups).", &io_stats.loop_turns);
  metrics_.counter("listgate_io_sends_total", "Send operations handed to the kernel.", &io_stats.sends);
  metrics_.gauge("listgate_buffers_in_use", "Receive buffers holding data.",
        [this] { return double(reactor_->buffers_holding_data()); });
  if (delivery_) delivery_->register_metrics(metrics_);
}

std::string Server::render_metrics() { return metrics_.render(); }

int Server::run() {
  reactor_->run();
  log_event(Level::info, "stopped", {{"transactions", std::to_string(counters_.transactions)}});
  return 0;
}

}  // namespace listgate::app
