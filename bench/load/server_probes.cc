// server_probes.cc - see server_probes.h.
#include "server_probes.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "listgate/base/concat.h"
#include "listgate/io/socket.h"

namespace listgate::loadbench {
namespace {

// Sends `request`, then reads until `done(received)` or EOF or the deadline.
template <class Done>
Result<std::string> exchange(const app::Address& to, std::string_view request, std::chrono::milliseconds timeout,
                             Done&& done) {
  auto fd = to.is_unix() ? io::connect_unix(to.path) : io::connect_tcp(to.host, to.port);
  if (!fd.ok()) return make_error(concat({to.to_string(), ": ", fd.error().message}));
  const int s = fd.value();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string received;
  const auto fail = [&](std::string_view what) {
    ::close(s);
    return make_error(concat({to.to_string(), ": ", what}));
  };
  while (!request.empty()) {
    const ssize_t n = ::send(s, request.data(), request.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(std::strerror(errno));
    request.remove_prefix(static_cast<size_t>(n));
  }
  while (!done(received)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return fail("no answer in time");
    pollfd p{s, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) return fail(std::strerror(errno));
    char buf[65536];
    const ssize_t n = ::recv(s, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return fail(std::strerror(errno));
    }
    received.append(buf, static_cast<size_t>(n));
  }
  ::close(s);
  return received;
}

}  // namespace

std::string line_field(std::string_view line, std::string_view key) {
  size_t at = 0;
  for (;;) {
    at = line.find(key, at);
    if (at == std::string_view::npos) return {};
    const bool starts = at == 0 || line[at - 1] == ' ';
    const size_t eq = at + key.size();
    if (starts && eq < line.size() && line[eq] == '=') break;
    at += key.size();
  }
  const size_t from = at + key.size() + 1;
  if (from < line.size() && line[from] == '"') {
    const size_t end = line.find('"', from + 1);
    return std::string(line.substr(from + 1, end == std::string_view::npos ? line.npos : end - from - 1));
  }
  const size_t end = line.find_first_of(" \r\n", from);
  return std::string(line.substr(from, end == std::string_view::npos ? line.npos : end - from));
}

Result<SinkStats> parse_sink_stats(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.substr(0, 3) != "ok ") return make_error(concat({"the sink answered '", line, "' to stats"}));
  SinkStats stats;
  std::string_view rest = line.substr(3);
  while (!rest.empty()) {
    const size_t sp = rest.find(' ');
    std::string_view pair = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    uint64_t v = 0;
    std::string_view value = pair.substr(eq + 1);
    if (std::from_chars(value.data(), value.data() + value.size(), v).ec != std::errc()) continue;
    stats.emplace(std::string(pair.substr(0, eq)), v);
  }
  return stats;
}

Metrics parse_prometheus_text(std::string_view text) {
  Metrics m;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.rfind(' ');
    if (sp == std::string_view::npos) continue;
    const std::string value(line.substr(sp + 1));
    char* parsed_end = nullptr;
    const double v = std::strtod(value.c_str(), &parsed_end);
    if (parsed_end == value.c_str()) continue;
    m.emplace(std::string(line.substr(0, sp)), v);
  }
  return m;
}

Result<SinkStats> fetch_sink_stats(const app::Address& control, std::chrono::milliseconds timeout) {
  auto reply = exchange(control, "stats\n", timeout,
                        [](const std::string& r) { return r.find('\n') != std::string::npos; });
  if (!reply.ok()) return reply.error();
  return parse_sink_stats(std::string_view(*reply).substr(0, reply->find('\n')));
}

Result<Metrics> fetch_metrics(const app::Address& metrics, std::chrono::milliseconds timeout) {
  auto reply = exchange(metrics, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", timeout,
                        [](const std::string&) { return false; });  // until the server closes
  if (!reply.ok()) return reply.error();
  const size_t body = reply->find("\r\n\r\n");
  if (reply->substr(0, 12) != "HTTP/1.1 200" || body == std::string::npos) {
    return make_error(concat({metrics.to_string(), ": unexpected answer to GET /metrics: '",
                              std::string_view(*reply).substr(0, reply->find('\r')), "'"}));
  }
  return parse_prometheus_text(std::string_view(*reply).substr(body + 4));
}

}  // namespace listgate::loadbench
