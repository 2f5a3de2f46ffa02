// counters.cc - the key=value form of the counters (stats reply, exit summary).
#include "counters.h"

#include <charconv>

namespace listgate::sink {
namespace {

void field(std::string& out, const char* key, uint64_t value) {
  if (!out.empty() && out.back() != ' ') out.push_back(' ');
  out.append(key);
  out.push_back('=');
  char digits[24];
  auto r = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, r.ptr);
}

}  // namespace

void append_counters(std::string& out, const Counters& c) {
  field(out, "connections", c.connections);
  field(out, "active", c.active);
  field(out, "refused_connections", c.refused_connections);
  field(out, "mails", c.mails);
  field(out, "rcpt_accepted", c.rcpt_accepted);
  field(out, "rcpt_refused", c.rcpt_refused);
  field(out, "transactions", c.transactions);
  field(out, "data_failed", c.data_failed);
  field(out, "drops", c.drops);
  field(out, "body_bytes", c.body_bytes);
  field(out, "data_bytes", c.data_bytes);
  field(out, "auth_ok", c.auth_ok);
  field(out, "auth_failed", c.auth_failed);
  field(out, "errors", c.errors);
}

void reset_counters(Counters& c) {
  uint64_t active = c.active;
  c = Counters{};
  c.active = active;
}

}  // namespace listgate::sink
