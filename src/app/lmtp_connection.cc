// lmtp_connection.cc - one LMTP connection: session, delivery hand-off, replies.
#include "lmtp_connection.h"

#include "server.h"

namespace listgate::app {

LmtpConnection::LmtpConnection(Server& server, io::Connection* conn)
    : server_(server),
      conn_(conn),
      session_(server.session_config(), server.directory_source(), server.lmtp_counters()) {}

void LmtpConnection::start() {
  session_.start();
  flush_output();
}

void LmtpConnection::on_data(io::Connection&, io::Slice data) {
  server_.touch(*this);
  advance(session_.feed(std::move(data)));
}

void LmtpConnection::advance(lmtp::Session::Status status) {
  while (status == lmtp::Session::Status::transaction_ready) {
    delivering_ = true;
    inside_deliver_ = true;
    delivered_inline_ = false;
    server_.deliverer().deliver(session_.transaction(),
                                [this](std::vector<std::string> replies) { delivered(std::move(replies)); });
    inside_deliver_ = false;
    if (!delivered_inline_) return;  // delivered() picks up from here later
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
