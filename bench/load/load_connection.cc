// load_connection.cc - see load_connection.h.
#include "load_connection.h"

#include <cstring>

namespace listgate::loadbench {

LoadConnection::LoadConnection(ConnectionEvents& events, MessageSource& source, LoadCounters& counters,
                               LatencyHistogram& latency, SessionOptions options)
    : events_(events), session_(*this, source, counters, latency, std::move(options)) {}

void LoadConnection::connect(io::Reactor& reactor, int fd) { conn_ = reactor.connect(fd, this); }

void LoadConnection::connect_failed(std::string_view why) {
  session_.on_connect_failed(why);
  settle();
}

void LoadConnection::give_up() {
  session_.give_up();
  settle();
}

void LoadConnection::on_data(io::Connection&, io::Slice data) {
  session_.on_bytes(data.view());
  settle();
}

void LoadConnection::on_peer_closed(io::Connection&, int err) {
  session_.on_peer_closed(err);
  close();
  settle();
}

void LoadConnection::on_connected(io::Connection&, int err) {
  if (err == 0) return;  // the greeting comes as data
  session_.on_connect_failed(std::strerror(err));
  close();
  settle();
}

void LoadConnection::send(const io::Slice& bytes) {
  if (conn_ != nullptr) conn_->write(bytes);
}

void LoadConnection::close() {
  if (conn_ != nullptr) conn_->close();
  conn_ = nullptr;
}

void LoadConnection::settle() {
  if (settled_ || !session_.done()) return;
  settled_ = true;
  events_.connection_finished();
}

}  // namespace listgate::loadbench
