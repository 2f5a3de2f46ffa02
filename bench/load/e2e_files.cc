// e2e_files.cc - see e2e_files.h.
#include "e2e_files.h"

#include <cstdio>

#include "listgate/base/concat.h"
#include "listgate/table/backend_spec.h"
#include "listgate/table/loader.h"
#include "report.h"

namespace listgate::loadbench {
namespace {

constexpr std::string_view kGeneratedDomain = "lists.listgate-bench.example";

template <class Addresses>
std::string json_array(const Addresses& addresses) {
  std::string s = "[";
  bool first = true;
  for (std::string_view a : addresses) {
    s += first ? "" : ", ";
    s += json_string(a);
    first = false;
  }
  return s + "]";
}

std::string member_address(uint64_t i) {
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf, "m%07llu@d%03llu.example.com", static_cast<unsigned long long>(i),
                              static_cast<unsigned long long>(i % 1000));
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

Result<std::string> rewritten_table_json(const std::string& source, const std::optional<std::string>& backend) {
  auto loaded = table::load_table_file(source, table::TableOptions{});
  if (!loaded.ok()) return loaded.error();
  const table::ListTable& t = **loaded;
  std::string s = "{\n  \"domains\": {";
  for (uint32_t d = 0; d < t.domain_count(); ++d) {
    const table::DomainInfo info = t.domain(d);
    s += d == 0 ? "\n    " : ",\n    ";
    s += json_string(info.name) + ": {";
    if (!info.alias_domain.empty()) s += " \"alias_domain\": " + json_string(info.alias_domain) + " ";
    s += "}";
  }
  s += "\n  },\n  \"lists\": [";
  for (uint32_t i = 0; i < t.size(); ++i) {
    const table::ListInfo list = t.list(i);
    s += i == 0 ? "\n    { " : ",\n    { ";
    s += "\"address\": " + json_string(list.address);
    if (!list.owners.empty()) s += ", \"owners\": " + json_array(list.owners);
    if (!list.members.empty()) s += ", \"members\": " + json_array(list.members);
    if (list.verp) s += ", \"verp\": true";
    if (list.backend != nullptr) {
      s += ", \"backend\": " + json_string(backend ? *backend : table::format_backend_spec(*list.backend));
    }
    s += " }";
  }
  s += "\n  ]\n}\n";
  return s;
}

std::string generated_table_json(uint32_t lists, uint32_t members) {
  std::string s = concat({"{\n  \"domains\": { \"", kGeneratedDomain, "\": {} },\n  \"lists\": ["});
  s.reserve(static_cast<size_t>(lists) * (members * 32 + 128));
  uint64_t next_member = 0;
  for (uint32_t l = 0; l < lists; ++l) {
    char local[32];
    std::snprintf(local, sizeof local, "list-%05u", l + 1);
    s += l == 0 ? "\n    { " : ",\n    { ";
    s += concat({"\"address\": \"", local, "@", kGeneratedDomain, "\", \"owners\": [\"owner-", local,
                 "@example.org\"], \"members\": ["});
    for (uint32_t m = 0; m < members; ++m) {
      s += m == 0 ? "\"" : ", \"";
      s += member_address(next_member++);
      s += '"';
    }
    s += "] }";
  }
  s += "\n  ]\n}\n";
  return s;
}

std::string gateway_config_text(const GatewayConfig& c) {
  // No MTA maps: writing them on every start (and reload) would be measured too.
  std::string s =
      "# Written by listgate-bench e2e.\n[mta]\nlmtp_host: 127.0.0.1\nlmtp_port: 0\n"
      "incoming: mailman.mta.null.NullMTA\n";
  if (c.smtp) s += concat({"smtp_host: ", c.smtp->host, "\nsmtp_port: ", std::to_string(c.smtp->port), "\n"});
  s += concat({"\n[listgate]\ntable = ", c.table, "\nspool_dir = ", c.dir, "/spool\nbounce_log = ", c.dir,
               "/bounces.jsonl\nmetrics = 127.0.0.1:0\nio = ", app::to_string(c.io),
               "\nmax_connections = ", std::to_string(c.max_connections),
               "\nmax_transaction_recipients = ", std::to_string(c.max_transaction_recipients),
               "\nmax_message_size = ", std::to_string(c.max_message_size), "\n"});
  return s;
}

}  // namespace listgate::loadbench
