// address.cc - `HOST:PORT`, `[IPV6]:PORT` and `unix:/path`, both ways.
//
// One syntax for the --lmtp and --smtp flags and the `metrics` key, the
// same shape Postfix uses for its lmtp: and smtp: next hops.
#include <sys/un.h>

#include "listgate/app/config.h"
#include "text.h"

namespace listgate::app {
namespace {

constexpr std::string_view kUnixPrefix = "unix:";
constexpr uint64_t kMaxPort = 65535;
// sun_path holds the path and its terminating NUL.
constexpr size_t kMaxUnixPath = sizeof(sockaddr_un{}.sun_path) - 1;

bool is_hex(char c) { return text::is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Hex digits, ':' and '.' (IPv4 tail); at least one ':'; an optional %zone.
bool looks_like_ipv6(std::string_view s) {
  std::string_view addr = s.substr(0, s.find('%'));
  if (addr.size() < 2 || addr.find(':') == std::string_view::npos) return false;
  for (char c : addr) {
    if (!is_hex(c) && c != ':' && c != '.') return false;
  }
  std::string_view zone = s.substr(addr.size());
  return zone.empty() || zone.size() > 1;  // "%" alone is not a zone
}

bool has_control_or_space(std::string_view s) {
  for (char c : s) {
    if (text::is_space(c) || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

Result<uint16_t> parse_port(std::string_view text) {
  auto port = text::parse_uint(text);
  // 0 is allowed for listening: the kernel picks a port (see the listening
  // log line); an SMTP target with port 0 is refused where it is used.
  if (!port || *port > kMaxPort) {
    return make_error(text::concat({"port '", text, "' is not a number from 0 to 65535"}));
  }
  return static_cast<uint16_t>(*port);
}

Result<Address> tcp_address(const std::string& what, std::string host, std::string_view port_text) {
  auto port = parse_port(port_text);
  if (!port) return make_error(what + port.error().message);
  return Address{Address::Kind::tcp, std::move(host), *port, {}};
}

}  // namespace

std::string Address::to_string() const {
  if (kind == Kind::unix_socket) return std::string(kUnixPrefix) + path;
  std::string out;
  if (host.find(':') != std::string::npos) {
    out.append("[").append(host).append("]");
  } else {
    out.append(host);
  }
  out.append(":").append(std::to_string(port));
  return out;
}

Result<Address> parse_address(std::string_view text, AllowUnix allow_unix) {
  if (text.empty()) return make_error("empty address");
  if (has_control_or_space(text)) return make_error(text::concat({"'", text, "' contains spaces or control characters"}));

  if (text.substr(0, kUnixPrefix.size()) == kUnixPrefix) {
    if (allow_unix == AllowUnix::no) {
      return make_error(text::concat({"'", text, "': a Unix socket is not allowed here; use HOST:PORT"}));
    }
    std::string_view path = text.substr(kUnixPrefix.size());
    if (path.empty()) return make_error("'unix:' needs a path, like unix:/run/listgate/lmtp.sock");
    if (path.size() > kMaxUnixPath) {
      return make_error("Unix socket path longer than " + std::to_string(kMaxUnixPath) + " bytes");
    }
    return Address{Address::Kind::unix_socket, {}, 0, std::string(path)};
  }

  const std::string what = text::concat({"'", text, "': "});
  if (text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return make_error(what + "missing ']' after the IPv6 address");
    std::string_view host = text.substr(1, close - 1);
    if (!looks_like_ipv6(host)) return make_error(text::concat({what, "'", host, "' is not an IPv6 address"}));
    std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return make_error(what + "expected ':PORT' after ']'");
    return tcp_address(what, std::string(host), rest.substr(1));
  }

  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return make_error(what + "expected HOST:PORT");
  std::string_view host = text.substr(0, colon);
  if (host.empty()) return make_error(what + "missing host before ':'");
  if (host.find(':') != std::string_view::npos) {
    return make_error(what + "an IPv6 address needs brackets, like [::1]:PORT");
  }
  if (host.find_first_of("[]/") != std::string_view::npos) return make_error(what + "bad host name");
  return tcp_address(what, std::string(host), text.substr(colon + 1));
}

}  // namespace listgate::app
