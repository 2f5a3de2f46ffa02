// lmtp_connection.h - glue between one accepted socket and its LMTP session.
//
// It feeds what the reactor receives into the session, hands finished
// transactions to the deliverer, queues the session's replies on the
// connection (the reactor flushes them once per loop turn) and keeps the
// connection's place in the server's idle list.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "listgate/io/reactor.h"
#include "listgate/lmtp/session.h"

namespace listgate::app {

class Server;

class LmtpConnection final : public io::StreamHandler {
 public:
  LmtpConnection(Server& server, io::Connection* conn);
  void bind(io::Connection* conn) { conn_ = conn; }
  void start();

  void on_data(io::Connection& c, io::Slice data) override;
  void on_peer_closed(io::Connection& c, int err) override;

  void idle_timeout();
  void shutdown();
  bool in_transaction() const { return session_.in_transaction() || delivering_; }
  // Waiting for our own delivery to answer: not idle, whatever the clock says.
  bool delivering() const { return delivering_; }

  // The server's idle list: least recently active first.
  LmtpConnection* idle_prev = nullptr;
  LmtpConnection* idle_next = nullptr;
  io::Clock::time_point last_active;

 private:
  void advance(lmtp::Session::Status status);
  void delivered(std::vector<std::string> replies);
  void flush_output();
  void finish();

  Server& server_;
  io::Connection* conn_;
  lmtp::Session session_;
  bool delivering_ = false;        // a transaction is with the deliverer
  bool inside_deliver_ = false;    // we are inside Deliverer::deliver
  bool delivered_inline_ = false;  // it answered before returning
  bool finished_ = false;          // the socket is closed
};

}  // namespace listgate::app
