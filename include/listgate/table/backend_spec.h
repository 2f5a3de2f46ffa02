// backend_spec.h - where a list's mail is relayed, in Postfix transport syntax.
//
// A list with a `backend` is fronted, not served: every address of it is
// relayed to an existing list server (typically Mailman's LMTP runner).
// The three forms of DESIGN.md section 3 are accepted:
//   lmtp:[host]:port    lmtp:unix:/path    smtp:[host]:port
// The brackets are Postfix's "no MX lookup"; host is a name, an IPv4
// address or an IPv6 address (optionally written "IPv6:..."). The port is
// required. Parsing happens once, at load; delivery reads the struct.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "listgate/base/result.h"

namespace listgate::table {

struct BackendSpec {
  enum class Protocol : uint8_t { lmtp, smtp };
  enum class Transport : uint8_t { tcp, unix_socket };

  Protocol protocol = Protocol::lmtp;
  Transport transport = Transport::tcp;
  std::string host;   // tcp: without brackets or "IPv6:" prefix
  uint16_t port = 0;  // tcp
  std::string path;   // unix_socket: absolute

  friend bool operator==(const BackendSpec&, const BackendSpec&) = default;
};

// Parses one backend string. The error says what is wrong, without position
// (the loader adds file:line:col).
Result<BackendSpec> parse_backend_spec(std::string_view text);

// The canonical text of `spec` (parse_backend_spec(format(spec)) == spec).
std::string format_backend_spec(const BackendSpec& spec);

}  // namespace listgate::table
