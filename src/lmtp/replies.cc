// replies.cc - the host- and limit-dependent replies (see replies.h).
#include "listgate/lmtp/replies.h"

namespace listgate::lmtp::reply {

namespace {

// A host name with a control character would split a reply line; the
// configuration should never hold one, but a reply must stay one line.
std::string safe_host(std::string_view host) {
  std::string h(host);
  for (char& c : h) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == ' ') c = '_';
  }
  if (h.empty()) h = "localhost";
  return h;
}

}  // namespace

HostReplies::HostReplies(std::string_view host, uint64_t max_message_size) {
  const std::string h = safe_host(host);
  greeting = "220 " + h + " LMTP listgate ready\r\n";
  // RFC 2033 4.1 / RFC 5321 4.1.1.1: the first line names the host, the
  // rest are extensions. No CHUNKING: BDAT is not implemented.
  lhlo = "250-" + h + "\r\n" +
         "250-PIPELINING\r\n"
         "250-ENHANCEDSTATUSCODES\r\n"
         "250-8BITMIME\r\n"
         "250-SIZE " + std::to_string(max_message_size) + "\r\n" +
         "250 SMTPUTF8\r\n";
  quit = "221 2.0.0 " + h + " closing connection\r\n";
  idle_timeout = "421 4.4.2 " + h + " Idle timeout, closing connection\r\n";
  shutdown = "421 4.3.2 " + h + " Service shutting down\r\n";
}

}  // namespace listgate::lmtp::reply
