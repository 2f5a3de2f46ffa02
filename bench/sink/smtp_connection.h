// smtp_connection.h - one accepted SMTP socket of the sink and its Session.
//
// Glue only: received slices go into the session, the session's batched
// replies go out on the connection (the reactor sends them once per loop
// turn). With a reply delay (--delay-ms / `set delay-ms`) each batch waits
// in a queue with its due time and one reactor timer per connection sends
// it; nothing blocks and ordering is kept (once anything is queued, later
// batches queue behind it even if the delay went back to zero).
#pragma once

#include <deque>
#include <string>

#include "listgate/io/reactor.h"
#include "session.h"

namespace listgate::sink {

class SinkServer;

class SmtpConnection final : public io::StreamHandler {
 public:
  explicit SmtpConnection(SinkServer& server);
  void bind(io::Connection* conn) { conn_ = conn; }
  ~SmtpConnection() override;
  SmtpConnection(const SmtpConnection&) = delete;
  SmtpConnection& operator=(const SmtpConnection&) = delete;

  // Greets (220), or with `refuse` answers 421 and closes. May delete this.
  void start(bool refuse);
  // The sink goes down: 421 now (no delay), close. Deletes this.
  void go_down();

  void on_data(io::Connection& c, io::Slice data) override;
  void on_peer_closed(io::Connection& c, int err) override;

 private:
  struct Delayed {
    io::Clock::time_point due;
    std::string bytes;
    bool close_after = false;
  };
  void flush();
  void send_due();
  void arm_timer();
  void write_all_delayed();
  void finish();

  SinkServer& server_;
  io::Connection* conn_ = nullptr;
  Session session_;
  std::deque<Delayed> delayed_;
  io::TimerId timer_ = 0;
  bool finished_ = false;
};

}  // namespace listgate::sink
