// control_connection.cc - line framing for the control port (see control_connection.h).
#include "control_connection.h"

#include "control_protocol.h"
#include "sink_server.h"

namespace listgate::sink {

void ControlConnection::on_data(io::Connection&, io::Slice data) {
  input_.append(data.view());
  process();
}

void ControlConnection::on_peer_closed(io::Connection&, int) { close(); }

void ControlConnection::process() {
  processing_ = true;
  size_t pos = 0;
  while (!busy_ && !closed_) {
    const size_t nl = input_.find('\n', pos);
    if (nl == std::string::npos) break;
    std::string_view line(input_.data() + pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    server_.control(*this, line);  // may close this (deleted later, not now)
  }
  processing_ = false;
  if (closed_) return;
  input_.erase(0, pos);
  if (input_.size() > kMaxControlLine) {
    reply("err line too long\n");
    close();
  }
}

void ControlConnection::resume() {
  busy_ = false;
  if (!processing_ && !closed_) process();
}

void ControlConnection::close() {
  if (closed_) return;
  closed_ = true;
  conn_->close();
  server_.forget(this);  // deletes this
}

}  // namespace listgate::sink
