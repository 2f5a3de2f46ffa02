// metrics_connection.cc - answer GET /metrics from the server's counters.
#include "metrics_connection.h"

#include "server.h"

namespace listgate::app {

void MetricsConnection::on_data(io::Connection& c, io::Slice data) {
  HttpParse state = parser_.feed(data.view());
  if (state == HttpParse::need_more) return;
  std::string out;
  if (state == HttpParse::ready) {
    append_metrics_response(parser_.request(), [this](std::string& body) { body = server_.render_metrics(); },
                            out);
  } else {
    append_error_response(state, out);
  }
  c.write(out);
  close();
}

void MetricsConnection::on_peer_closed(io::Connection&, int) { close(); }

void MetricsConnection::close() {
  conn_->close();
  server_.forget(this);  // deletes this
}

}  // namespace listgate::app
