// sink_server.cc - listeners, control commands, signals, record flushing.
#include "sink_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "control_protocol.h"
#include "listgate/io/signals.h"
#include "listgate/io/socket.h"
#include "listgate/base/concat.h"

namespace listgate::sink {
namespace {

// `up` retries binding the SMTP port this often, this many times (2 s).
constexpr std::chrono::milliseconds kRelistenEvery{10};
constexpr int kRelistenAttempts = 200;

io::IoMode io_mode(app::IoBackend b) {
  switch (b) {
    case app::IoBackend::uring: return io::IoMode::uring;
    case app::IoBackend::epoll: return io::IoMode::epoll;
    case app::IoBackend::automatic: break;
  }
  return io::IoMode::automatic;
}

void say(std::initializer_list<std::string_view> parts) {
  std::string line = concat(parts);
  line.push_back('\n');
  (void)!::write(2, line.data(), line.size());
}

}  // namespace

SinkServer::SinkServer(SinkArgs args) : args_(std::move(args)), faults_(args_.seed) {
  faults_.faults() = args_.faults;
}

SinkServer::~SinkServer() {
  for (SmtpConnection* c : smtp_) delete c;
  for (auto& [id, c] : controls_) delete c;
  graveyard_.clear();
  if (control_fd_ >= 0) ::close(control_fd_);
  if (signal_fd_ >= 0) ::close(signal_fd_);
}

Result<void> SinkServer::start() {
  if (!args_.record_file.empty()) {
    auto opened = recorder_.open(args_.record_file);
    if (!opened.ok()) return opened;
  }
  std::string why_not;
  auto reactor = io::Reactor::create(io_mode(args_.io), &why_not);
  if (!reactor.ok()) return reactor.error();
  reactor_ = std::move(reactor.value());
  if (!why_not.empty()) say({"sink io_uring_unavailable reason=\"", why_not, "\" using=epoll"});
  auto signals = install_signals();
  if (!signals.ok()) return signals;

  smtp_address_ = args_.listen;
  auto smtp = open_smtp_listener();
  if (!smtp.ok()) return smtp;
  if (args_.control) {
    auto control = open_control_listener();
    if (!control.ok()) return control;
  }
  say({"sink listening smtp=", smtp_text_, " control=", control_text_, " io=", reactor_->backend_name()});
  return {};
}

Result<void> SinkServer::install_signals() {
  auto fd = io::open_signalfd({SIGTERM, SIGINT});
  if (!fd.ok()) return fd.error();
  signal_fd_ = fd.value();
  return reactor_->watch_readable(signal_fd_, [this] {
    signalfd_siginfo info{};
    bool stop = false;
    while (::read(signal_fd_, &info, sizeof info) == sizeof info) stop = true;
    if (stop) shut_down();
  });
}

Result<void> SinkServer::open_smtp_listener() {
  auto fd = io::listen_tcp(smtp_address_.host, smtp_address_.port);
  if (!fd.ok()) return fd.error();
  auto listening = reactor_->listen(fd.value(), [this](int conn) { accept_smtp(conn); });
  if (!listening.ok()) {
    ::close(fd.value());
    return listening;
  }
  smtp_listen_fd_ = fd.value();
  smtp_address_.port = io::bound_port(fd.value());  // port 0: keep the one we got for `up`
  smtp_text_ = smtp_address_.to_string();
  listening_ = true;
  return {};
}

Result<void> SinkServer::open_control_listener() {
  auto fd = io::listen_tcp(args_.control->host, args_.control->port);
  if (!fd.ok()) return fd.error();
  control_fd_ = fd.value();
  app::Address bound = *args_.control;
  bound.port = io::bound_port(control_fd_);
  control_text_ = bound.to_string();
  return reactor_->watch_readable(control_fd_, [this] { accept_control(); });
}

void SinkServer::run() { reactor_->run(); }

void SinkServer::shut_down() {
  // Close every connection (SMTP ones get the 421 of `down`), so the reactor
  // sends the last bytes and releases them before run() returns.
  std::vector<SmtpConnection*> open(smtp_.begin(), smtp_.end());
  for (SmtpConnection* c : open) c->go_down();
  std::vector<ControlConnection*> controls;
  for (auto& [id, c] : controls_) controls.push_back(c);
  for (ControlConnection* c : controls) c->close();
  reactor_->stop();
}

void SinkServer::finish() {
  flush_record();
  std::string counts;
  append_counters(counts, counters_);
  say({"sink summary ", counts});
}

// ---- connections -------------------------------------------------------------

void SinkServer::accept_smtp(int fd) {
  ++counters_.connections;
  // Replies are already batched per loop turn; Nagle would only hold back
  // the second batch of a transaction until the first is acknowledged.
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto* handler = new SmtpConnection(*this);
  handler->bind(reactor_->attach(fd, handler));
  smtp_.insert(handler);
  if (refusing_) ++counters_.refused_connections;
  handler->start(refusing_);  // may forget it at once
}

void SinkServer::accept_control() {
  for (;;) {
    const int fd = ::accept4(control_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN: all taken (level-triggered: we come back otherwise)
    auto* handler = new ControlConnection(*this, next_control_id_++);
    handler->bind(reactor_->attach(fd, handler));
    controls_.emplace(handler->id(), handler);
  }
}

void SinkServer::forget(SmtpConnection* c) {
  if (smtp_.erase(c) == 0) return;
  graveyard_.emplace_back(c);
  bury_later();
}

void SinkServer::forget(ControlConnection* c) {
  if (controls_.erase(c->id()) == 0) return;
  graveyard_.emplace_back(c);
  bury_later();
}

void SinkServer::bury_later() {
  if (burial_scheduled_) return;
  burial_scheduled_ = true;
  reactor_->add_timer(std::chrono::milliseconds(0), [this] {
    burial_scheduled_ = false;
    graveyard_.clear();
  });
}

// ---- accepted messages ---------------------------------------------------------

void SinkServer::on_message(AcceptedMessage& m) {
  if (recorder_.is_open()) {
    recorder_.add(m);
    schedule_record_flush();
  }
  if (m.body != nullptr) {
    last_body_.swap(*m.body);
    have_last_ = true;
  }
}

void SinkServer::schedule_record_flush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  // Added while the reactor dispatches events, a 0 ms timer runs in this
  // same loop turn, before the turn's replies are sent.
  reactor_->add_timer(std::chrono::milliseconds(0), [this] { flush_record(); });
}

void SinkServer::flush_record() {
  flush_scheduled_ = false;
  if (!recorder_.pending()) return;
  auto flushed = recorder_.flush();
  if (!flushed.ok()) say({"sink record_error error=\"", flushed.error().message, "\""});
}

// ---- down and up -------------------------------------------------------------------

void SinkServer::go_down(bool refuse_421) {
  refusing_ = true;
  want_listening_ = refuse_421;
  std::vector<SmtpConnection*> open(smtp_.begin(), smtp_.end());
  for (SmtpConnection* c : open) c->go_down();
  if (!refuse_421 && listening_) {
    // Stop listening now, before "ok down" goes out: the reactor closes the
    // fd itself, but io_uring does so only once the cancelled accept has
    // completed, and until then the kernel would still complete handshakes.
    // shutdown() on a listening socket takes it out of LISTEN at once (new
    // SYNs are refused, queued connections reset).
    ::shutdown(smtp_listen_fd_, SHUT_RDWR);
    reactor_->stop_listening();
    smtp_listen_fd_ = -1;
    listening_ = false;
  }
}

void SinkServer::listen_then_reply(uint64_t control_id, std::string ok_line, int attempts_left) {
  auto it = controls_.find(control_id);
  ControlConnection* c = it == controls_.end() ? nullptr : it->second;
  if (!want_listening_) {  // a later `down` won
    if (c != nullptr) {
      c->reply("err superseded by down\n");
      c->resume();
    }
    return;
  }
  if (!listening_) {
    auto opened = open_smtp_listener();
    if (!opened.ok()) {
      if (attempts_left > 0) {
        if (c != nullptr) c->set_busy();
        reactor_->add_timer(kRelistenEvery, [this, control_id, ok_line, attempts_left] {
          listen_then_reply(control_id, ok_line, attempts_left - 1);
        });
        return;
      }
      if (c != nullptr) {
        c->reply(concat({"err ", opened.error().message, "\n"}));
        c->resume();
      }
      return;
    }
  }
  if (c != nullptr) {
    c->reply(ok_line);
    c->resume();
  }
}

// ---- control commands ----------------------------------------------------------------

void SinkServer::control(ControlConnection& c, std::string_view line) {
  auto parsed = parse_control_line(line);
  if (!parsed.ok()) {
    c.reply(concat({"err ", parsed.error().message, "\n"}));
    return;
  }
  const ControlRequest& r = parsed.value();
  std::string out;
  switch (r.verb) {
    case ControlVerb::set: {
      auto set = faults_.set(r.name, r.value);
      c.reply(set.ok() ? std::string("ok\n") : concat({"err ", set.error().message, "\n"}));
      return;
    }
    case ControlVerb::clear:
      if (r.name.empty()) {
        faults_.clear();
      } else {
        faults_.clear_rules();
      }
      c.reply("ok\n");
      return;
    case ControlVerb::faults:
      out = "ok ";
      faults_.describe(out);
      out.push_back('\n');
      c.reply(out);
      return;
    case ControlVerb::stats:
      flush_record();
      out = "ok ";
      append_counters(out, counters_);
      out.push_back('\n');
      c.reply(out);
      return;
    case ControlVerb::reset_stats:
      reset_counters(counters_);
      c.reply("ok\n");
      return;
    case ControlVerb::down:
      go_down(r.refuse_421);
      if (r.refuse_421 && !listening_) {
        c.set_busy();
        listen_then_reply(c.id(), "ok down\n", kRelistenAttempts);
        return;
      }
      c.reply("ok down\n");
      return;
    case ControlVerb::up:
      refusing_ = false;
      want_listening_ = true;
      c.set_busy();
      listen_then_reply(c.id(), concat({"ok up smtp=", smtp_text_, "\n"}), kRelistenAttempts);
      return;
    case ControlVerb::last:
      answer_last(c);
      return;
    case ControlVerb::quit:
      c.reply("ok bye\n");
      c.close();
      return;
  }
}

void SinkServer::answer_last(ControlConnection& c) {
  if (!args_.session.keep_body) {
    c.reply("err keep-last is off\n");
    return;
  }
  if (!have_last_) {
    c.reply("err no message yet\n");
    return;
  }
  c.reply(concat({"ok ", std::to_string(last_body_.size()), "\n"}));
  c.reply(last_body_);
}

}  // namespace listgate::sink
