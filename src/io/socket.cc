// socket.cc - listening and connected sockets.
#include "listgate/io/socket.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace listgate::io {

namespace {

std::string sys_error(const std::string& what) { return what + ": " + std::strerror(errno); }

Result<addrinfo*> resolve(const std::string& host, uint16_t port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) return make_error("cannot resolve " + host + ": " + gai_strerror(rc));
  return res;
}

Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sa.sun_path)
    return make_error("unix socket path too long or empty: " + path);
  std::memcpy(sa.sun_path, path.data(), path.size());
  return sa;
}

}  // namespace

Result<int> listen_tcp(const std::string& host, uint16_t port, int backlog) {
  auto found = resolve(host, port, true);
  if (!found.ok()) return found.error();
  std::string last = "no address for " + host;
  for (addrinfo* ai = found.value(); ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last = sys_error("socket");
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, backlog) == 0) {
      freeaddrinfo(found.value());
      return fd;
    }
    last = sys_error("listen on " + host + ":" + std::to_string(port));
    ::close(fd);
  }
  freeaddrinfo(found.value());
  return make_error(last);
}

Result<int> listen_unix(const std::string& path, int backlog) {
  auto sa = unix_address(path);
  if (!sa.ok()) return sa.error();
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return make_error(path + " exists and is not a socket");
    ::unlink(path.c_str());
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(sys_error("socket"));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa.value()), sizeof(sockaddr_un)) != 0 ||
      ::listen(fd, backlog) != 0) {
    std::string e = sys_error("listen on unix:" + path);
    ::close(fd);
    return make_error(e);
  }
  return fd;
}

uint16_t bound_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

Result<int> connect_tcp(const std::string& host, uint16_t port) {
  auto found = resolve(host, port, false);
  if (!found.ok()) return found.error();
  std::string last = "no address for " + host;
  for (addrinfo* ai = found.value(); ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      freeaddrinfo(found.value());
      return fd;
    }
    last = sys_error("connect to " + host + ":" + std::to_string(port));
    ::close(fd);
  }
  freeaddrinfo(found.value());
  return make_error(last);
}

Result<int> connect_unix(const std::string& path) {
  auto sa = unix_address(path);
  if (!sa.ok()) return sa.error();
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(sys_error("socket"));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa.value()), sizeof(sockaddr_un)) != 0) {
    std::string e = sys_error("connect to unix:" + path);
    ::close(fd);
    return make_error(e);
  }
  return fd;
}

Result<std::vector<PeerAddress>> resolve_peer(const std::string& host, uint16_t port) {
  auto found = resolve(host, port, false);
  if (!found.ok()) return found.error();
  std::vector<PeerAddress> peers;
  for (addrinfo* ai = found.value(); ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
    PeerAddress p;
    std::memcpy(&p.storage, ai->ai_addr, ai->ai_addrlen);
    p.length = ai->ai_addrlen;
    bool v6 = ai->ai_family == AF_INET6;
    p.text = (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
    peers.push_back(std::move(p));
  }
  freeaddrinfo(found.value());
  if (peers.empty()) return make_error("no address for " + host);
  return peers;
}

Result<PeerAddress> unix_peer(const std::string& path) {
  auto sa = unix_address(path);
  if (!sa.ok()) return sa.error();
  PeerAddress p;
  std::memcpy(&p.storage, &sa.value(), sizeof(sockaddr_un));
  p.length = sizeof(sockaddr_un);
  p.text = "unix:" + path;
  return p;
}

Result<int> start_connect(const PeerAddress& peer) {
  int fd = ::socket(peer.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(sys_error("socket"));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&peer.storage), peer.length) == 0 ||
      errno == EINPROGRESS) {
    return fd;
  }
  std::string e = sys_error("connect to " + peer.text);
  ::close(fd);
  return make_error(e);
}

}  // namespace listgate::io
