// metrics_connection.h - one HTTP connection to the Prometheus endpoint.
//
// Served by the same reactor as LMTP: read one request, answer, close.
#pragma once

#include "listgate/app/http.h"
#include "listgate/io/reactor.h"

namespace listgate::app {

class Server;

class MetricsConnection final : public io::StreamHandler {
 public:
  explicit MetricsConnection(Server& server) : server_(server) {}
  void bind(io::Connection* conn) { conn_ = conn; }
  void on_data(io::Connection& c, io::Slice data) override;
  void on_peer_closed(io::Connection& c, int err) override;
  void close();

 private:
  Server& server_;
  io::Connection* conn_ = nullptr;
  HttpRequestParser parser_;
};

}  // namespace listgate::app
