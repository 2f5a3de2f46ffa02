// sink_server.h - the listgate-sink process around one reactor.
//
// Owns the reactor, the SMTP listener, the control listener, the shared
// fault engine and counters, the record file and the last kept body. The
// SMTP listener goes through Reactor::listen so it can be closed for `down`
// (Reactor::stop_listening closes every reactor listener); the control
// listener is therefore accepted by hand through watch_readable, so it
// survives `down`. Re-binding the SMTP port for `up` is retried briefly,
// because with io_uring the old listener is closed asynchronously; `down`
// takes the old one out of LISTEN state synchronously with shutdown(2).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "control_connection.h"
#include "counters.h"
#include "faults.h"
#include "listgate/io/reactor.h"
#include "options.h"
#include "recorder.h"
#include "session.h"
#include "smtp_connection.h"

namespace listgate::sink {

class SinkServer final : public MessageObserver {
 public:
  explicit SinkServer(SinkArgs args);
  ~SinkServer() override;
  SinkServer(const SinkServer&) = delete;
  SinkServer& operator=(const SinkServer&) = delete;

  // Opens everything and prints the `sink listening ...` line.
  Result<void> start();
  // Until SIGTERM or SIGINT (open SMTP connections then get
  // "421 4.3.2 sink going down").
  void run();
  // Flushes the record file and prints the `sink summary ...` line.
  void finish();

  io::Reactor& reactor() { return *reactor_; }
  const SessionOptions& session_options() const { return args_.session; }
  FaultEngine& faults() { return faults_; }
  Counters& counters() { return counters_; }

  // A connection is done (its socket closed); it is deleted later in this turn.
  void forget(SmtpConnection* c);
  void forget(ControlConnection* c);
  // One control line (without line end).
  void control(ControlConnection& c, std::string_view line);

  void on_message(AcceptedMessage& m) override;

 private:
  Result<void> install_signals();
  // SIGTERM/SIGINT: close every connection and stop the reactor.
  void shut_down();
  Result<void> open_smtp_listener();
  Result<void> open_control_listener();
  void accept_smtp(int fd);
  void accept_control();
  void go_down(bool refuse_421);
  // Binds the SMTP port again (retrying) and then answers `ok_line` on the
  // control connection `control_id`.
  void listen_then_reply(uint64_t control_id, std::string ok_line, int attempts_left);
  void schedule_record_flush();
  void flush_record();
  void bury_later();
  void answer_last(ControlConnection& c);

  SinkArgs args_;
  std::unique_ptr<io::Reactor> reactor_;
  FaultEngine faults_;
  Counters counters_;
  Recorder recorder_;
  bool flush_scheduled_ = false;
  std::string last_body_;
  bool have_last_ = false;

  app::Address smtp_address_;  // with the bound port, for `up`
  std::string smtp_text_;
  std::string control_text_ = "off";
  bool listening_ = false;
  bool want_listening_ = true;
  bool refusing_ = false;
  int smtp_listen_fd_ = -1;  // owned by the reactor; valid while listening_
  int control_fd_ = -1;
  int signal_fd_ = -1;

  std::unordered_set<SmtpConnection*> smtp_;
  std::unordered_map<uint64_t, ControlConnection*> controls_;
  uint64_t next_control_id_ = 1;
  std::vector<std::unique_ptr<io::StreamHandler>> graveyard_;
  bool burial_scheduled_ = false;
};

}  // namespace listgate::sink
