// lmtp_connection.cc - one LMTP connection: session, delivery hand-off, replies.
#include "lmtp_connection.h"

#include "server.h"

namespace listgate::app {

namespace {
// Input a pipelining client may queue behind a message under delivery.
constexpr uint64_t kMaxPendingInput = 1 << 20;
}  // namespace

LmtpConnection::LmtpConnection(Server& server, io::Connection* conn)
    : server_(server),
      conn_(conn),
      session_(server.session_config(), server.directory_source(), server.lmtp_counters()) {}

void LmtpConnection::start() {
  session_.start();
  flush_output();
}

void LmtpConnection::on_data(io::Connection& c, io::Slice data) {
  server_.touch(*this);
  lmtp::Session::Status status = session_.feed(std::move(data));
  // While a message is with the deliverer the session only queues input;
  // past a bound, stop reading until delivery answers.
  if (delivering_ && session_.pending_input() > kMaxPendingInput) c.pause_reading();
  advance(status);
}

void LmtpConnection::advance(lmtp::Session::Status status) {
  if (delivering_) return;  // the deliverer has the transaction; delivered() resumes
  while (status == lmtp::Session::Status::transaction_ready) {
    delivering_ = true;
    inside_deliver_ = true;
    delivered_inline_ = false;
    server_.deliverer().deliver(session_.transaction(),
                                [this](std::vector<std::string> replies) { delivered(std::move(replies)); });
    inside_deliver_ = false;
    if (!delivered_inline_) {  // delivered() picks up from here later
      flush_output();
      return;
    }
    status = session_.resume();
  }
  flush_output();
  if (session_.closing()) finish();
}

void LmtpConnection::delivered(std::vector<std::string> replies) {
  delivering_ = false;
  if (finished_) {  // the peer left while we delivered
    server_.forget(this);
    return;
  }
  session_.complete(replies);
  if (inside_deliver_) {
    delivered_inline_ = true;
    return;
  }
  server_.touch(*this);
  if (conn_->reading_paused()) conn_->resume_reading();
  advance(session_.resume());
}

void LmtpConnection::flush_output() {
  std::string& out = session_.output();
  if (!out.empty() && conn_ != nullptr) conn_->write(out);
  out.clear();
}

void LmtpConnection::on_peer_closed(io::Connection&, int) {
  // A transaction still being delivered keeps its buffers until done; the
  // reply has nowhere to go, but delivery decides what to keep.
  finish();
}

void LmtpConnection::idle_timeout() {
  session_.idle_timeout();
  flush_output();
  finish();
}

void LmtpConnection::shutdown() {
  session_.shutdown();
  flush_output();
  if (session_.closing()) finish();
}

void LmtpConnection::finish() {
  if (finished_) return;
  finished_ = true;
  conn_->close();
  conn_ = nullptr;
  server_.detach(this);
  if (!delivering_) server_.forget(this);  // deletes this
}

}  // namespace listgate::app
