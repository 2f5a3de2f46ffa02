// smtp_connection.cc - session glue and the reply delay queue (see smtp_connection.h).
#include "smtp_connection.h"

#include <algorithm>

#include "sink_server.h"

namespace listgate::sink {

SmtpConnection::SmtpConnection(SinkServer& server)
    : server_(server),
      session_(server.session_options(), server.faults(), server.counters(), &server) {
  ++server_.counters().active;
}

SmtpConnection::~SmtpConnection() {
  if (timer_ != 0) server_.reactor().cancel_timer(timer_);
  --server_.counters().active;
}

void SmtpConnection::start(bool refuse) {
  if (refuse) {
    session_.refuse();
  } else {
    session_.start();
  }
  flush();
}

void SmtpConnection::go_down() {
  if (timer_ != 0) server_.reactor().cancel_timer(timer_);
  timer_ = 0;
  delayed_.clear();
  session_.go_down();
  conn_->write(session_.output());
  session_.output().clear();
  finish();
}

void SmtpConnection::on_data(io::Connection&, io::Slice data) {
  session_.feed(data.view());
  flush();  // may delete this
}

void SmtpConnection::on_peer_closed(io::Connection&, int) { finish(); }

void SmtpConnection::flush() {
  std::string& out = session_.output();
  const bool closing = session_.closing();
  const uint32_t delay_ms = server_.faults().faults().delay_ms;
  if (session_.dropped()) {  // abrupt: what was answered goes, then the socket closes
    write_all_delayed();
    conn_->write(out);
    out.clear();
    finish();
    return;
  }
  if (delay_ms == 0 && delayed_.empty()) {
    if (!out.empty()) conn_->write(out);
    out.clear();
    if (closing) finish();
    return;
  }
  if (!out.empty() || closing) {
    delayed_.push_back(Delayed{io::Clock::now() + std::chrono::milliseconds(delay_ms), std::move(out), closing});
    out.clear();
  }
  arm_timer();
}

void SmtpConnection::arm_timer() {
  if (timer_ != 0 || delayed_.empty()) return;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(delayed_.front().due - io::Clock::now());
  timer_ = server_.reactor().add_timer(std::max(left, std::chrono::milliseconds(0)), [this] {
    timer_ = 0;
    send_due();
  });
}

void SmtpConnection::send_due() {
  const auto now = io::Clock::now();
  while (!delayed_.empty() && delayed_.front().due <= now) {
    Delayed d = std::move(delayed_.front());
    delayed_.pop_front();
    conn_->write(d.bytes);
    if (d.close_after) {
      finish();
      return;
    }
  }
  arm_timer();
}

void SmtpConnection::write_all_delayed() {
  if (timer_ != 0) server_.reactor().cancel_timer(timer_);
  timer_ = 0;
  for (const Delayed& d : delayed_) conn_->write(d.bytes);
  delayed_.clear();
}

void SmtpConnection::finish() {
  if (finished_) return;
  finished_ = true;
  if (timer_ != 0) server_.reactor().cancel_timer(timer_);
  timer_ = 0;
  conn_->close();
  conn_ = nullptr;
  server_.forget(this);  // deletes this
}

}  // namespace listgate::sink
