// control_connection.h - one connection to the sink's control port.
//
// Collects lines and hands each to the server, which answers through
// reply(). A command the server cannot answer at once (`up` waits until the
// SMTP port can be bound again) sets the connection busy; lines behind it
// wait, so replies always come in command order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "listgate/io/reactor.h"

namespace listgate::sink {

class SinkServer;

class ControlConnection final : public io::StreamHandler {
 public:
  ControlConnection(SinkServer& server, uint64_t id) : server_(server), id_(id) {}
  void bind(io::Connection* conn) { conn_ = conn; }
  uint64_t id() const { return id_; }

  void on_data(io::Connection& c, io::Slice data) override;
  void on_peer_closed(io::Connection& c, int err) override;

  void reply(std::string_view line_with_newline) { conn_->write(line_with_newline); }
  // The reply to the current command comes later; hold further lines.
  void set_busy() { busy_ = true; }
  // The late reply was sent: go on with held lines. May delete this.
  void resume();
  // Send what is queued, then close. Deletes this.
  void close();

 private:
  void process();

  SinkServer& server_;
  uint64_t id_;
  io::Connection* conn_ = nullptr;
  std::string input_;
  bool busy_ = false;
  bool processing_ = false;  // inside process(): resume() must not re-enter it
  bool closed_ = false;
};

}  // namespace listgate::sink
