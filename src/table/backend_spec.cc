// backend_spec.cc - parsing Postfix-style transport strings for list backends.
#include "listgate/table/backend_spec.h"

#include <charconv>

namespace listgate::table {

namespace {

constexpr std::string_view kLmtpPrefix = "lmtp:";
constexpr std::string_view kSmtpPrefix = "smtp:";
constexpr std::string_view kUnixPrefix = "unix:";
constexpr std::string_view kIpv6Tag = "ipv6:";
// sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
constexpr size_t kMaxUnixPathLength = 107;
constexpr unsigned kMaxPort = 65535;

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

bool is_host_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
         u == '.' || u == '-' || u == '_' || u == ':' || u >= 0x80;
}

Result<BackendSpec> parse_tcp(BackendSpec spec, std::string_view rest) {
  // rest is "[host]:port"
  if (rest.empty() || rest.front() != '[') {
    return make_error("backend host must be in brackets, as in \"[127.0.0.1]:8024\"");
  }
  const size_t close = rest.find(']');
  if (close == std::string_view::npos) return make_error("backend host has no closing ']'");
  std::string_view host = rest.substr(1, close - 1);
  if (starts_with_ignoring_case(host, kIpv6Tag)) host.remove_prefix(kIpv6Tag.size());
  if (host.empty()) return make_error("backend host is empty");
  for (const char c : host) {
    if (!is_host_char(c)) return make_error("backend host contains an invalid character");
  }
  const std::string_view after = rest.substr(close + 1);
  if (after.empty() || after.front() != ':') {
    return make_error("backend needs a port after the host, as in \"[127.0.0.1]:8024\"");
  }
  const std::string_view digits = after.substr(1);
  unsigned port = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
      port == 0 || port > kMaxPort) {
    return make_error("backend port must be a number from 1 to 65535");
  }
  spec.host = std::string(host);
  spec.port = static_cast<uint16_t>(port);
  return spec;
}

}  // namespace

Result<BackendSpec> parse_backend_spec(std::string_view text) {
  BackendSpec spec;
  std::string_view rest;
  if (starts_with_ignoring_case(text, kLmtpPrefix)) {
    spec.protocol = BackendSpec::Protocol::lmtp;
    rest = text.substr(kLmtpPrefix.size());
  } else if (starts_with_ignoring_case(text, kSmtpPrefix)) {
    spec.protocol = BackendSpec::Protocol::smtp;
    rest = text.substr(kSmtpPrefix.size());
  } else {
    return make_error(
        "backend must be lmtp:[host]:port, lmtp:unix:/path or smtp:[host]:port");
  }
  if (starts_with_ignoring_case(rest, kUnixPrefix)) {
    if (spec.protocol != BackendSpec::Protocol::lmtp) {
      return make_error("a unix socket backend must be lmtp (lmtp:unix:/path)");
    }
    const std::string_view path = rest.substr(kUnixPrefix.size());
    if (path.empty() || path.front() != '/') {
      return make_error("backend socket path must be absolute");
    }
    if (path.size() > kMaxUnixPathLength) {
      return make_error("backend socket path is longer than 107 bytes");
    }
    for (const char c : path) {
      if (static_cast<unsigned char>(c) < ' ') {
        return make_error("backend socket path contains a control character");
      }
    }
    spec.transport = BackendSpec::Transport::unix_socket;
    spec.path = std::string(path);
    return spec;
  }
  return parse_tcp(std::move(spec), rest);
}

std::string format_backend_spec(const BackendSpec& spec) {
  std::string text = spec.protocol == BackendSpec::Protocol::lmtp ? "lmtp:" : "smtp:";
  if (spec.transport == BackendSpec::Transport::unix_socket) {
    text += "unix:";
    text += spec.path;
    return text;
  }
  text += '[';
  text += spec.host;
  text += "]:";
  text += std::to_string(spec.port);
  return text;
}

}  // namespace listgate::table
