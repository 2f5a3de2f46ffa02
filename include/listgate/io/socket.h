// socket.h - creating listening and connected sockets (TCP and Unix).
#pragma once

#include <cstdint>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "listgate/base/result.h"

namespace listgate::io {

inline constexpr int kListenBacklog = 4096;

// A TCP listener on host:port (numeric address or name; port 0 picks one).
Result<int> listen_tcp(const std::string& host, uint16_t port, int backlog = kListenBacklog);
// A Unix stream listener; a stale socket file at `path` is replaced.
Result<int> listen_unix(const std::string& path, int backlog = kListenBacklog);
// The port a TCP socket is bound to (0 if not TCP).
uint16_t bound_port(int fd);
// A blocking TCP connection (for tests and tools, not the reactor).
Result<int> connect_tcp(const std::string& host, uint16_t port);
Result<int> connect_unix(const std::string& path);

// A resolved peer for outbound connections made from the reactor.
struct PeerAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  std::string text;  // "host:port" or "unix:/path", for logs
};
// Resolves host:port (getaddrinfo: blocking, so done ahead of time, not per connect).
Result<std::vector<PeerAddress>> resolve_peer(const std::string& host, uint16_t port);
Result<PeerAddress> unix_peer(const std::string& path);
// A non-blocking socket with connect() started (EINPROGRESS) or done; hand
// it to Reactor::connect. Errors known at once (no such Unix socket, ...) are
// returned here.
Result<int> start_connect(const PeerAddress& peer);

}  // namespace listgate::io
