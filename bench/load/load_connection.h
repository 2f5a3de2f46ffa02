// load_connection.h - one socket of the load: the reactor's handler on one
// side, a ClientSession's port on the other.
//
// Bytes the reactor delivers go to the session; what the session sends is
// queued on the connection by reference (prebuilt slices). When the session
// is done, the owner hears it once.
#pragma once

#include <string_view>

#include "client_session.h"
#include "listgate/io/reactor.h"

namespace listgate::loadbench {

// What the owner of the connections (the run) is told.
class ConnectionEvents {
 public:
  virtual ~ConnectionEvents() = default;
  // The session is over (once per connection).
  virtual void connection_finished() = 0;
  virtual void note_error(std::string_view what) = 0;
};

class LoadConnection final : public io::StreamHandler, public SessionPort {
 public:
  LoadConnection(ConnectionEvents& events, MessageSource& source, LoadCounters& counters, LatencyHistogram& latency,
                 SessionOptions options);

  // Starts on a socket whose connect is under way (io::start_connect).
  void connect(io::Reactor& reactor, int fd);
  // The socket could not even be made.
  void connect_failed(std::string_view why);
  // The run is over: stop and close, whatever is in flight.
  void give_up();

  // io::StreamHandler
  void on_data(io::Connection&, io::Slice data) override;
  void on_peer_closed(io::Connection&, int err) override;
  void on_connected(io::Connection&, int err) override;

  // SessionPort
  void send(const io::Slice& bytes) override;
  void close() override;
  io::Clock::time_point now() override { return io::Clock::now(); }
  void report_error(std::string_view what) override { events_.note_error(what); }

 private:
  // Tells the owner once that the session is over.
  void settle();

  ConnectionEvents& events_;
  ClientSession session_;
  io::Connection* conn_ = nullptr;
  bool settled_ = false;
};

}  // namespace listgate::loadbench
