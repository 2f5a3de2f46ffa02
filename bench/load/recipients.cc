// recipients.cc - see recipients.h.
#include "recipients.h"

#include "listgate/base/concat.h"
#include "listgate/table/loader.h"

namespace listgate::loadbench {
namespace {

std::string_view domain_of(std::string_view address) { return address.substr(address.rfind('@') + 1); }

std::string unknown_address(size_t i, std::string_view domain) {
  return concat({"no-such-list-", std::to_string(i), "@", domain});
}

}  // namespace

Result<Recipients> recipients_from_table(const std::string& path) {
  auto table = table::load_table_file(path, table::TableOptions{});
  if (!table.ok()) return table.error();
  const table::ListTable& t = **table;
  if (t.size() == 0) return make_error(concat({path, ": the table has no lists"}));
  Recipients r;
  for (uint32_t i = 0; i < t.size(); ++i) r.known.emplace_back(t.list(i).address);
  for (size_t i = 0; r.unknown.size() < kUnknownAddresses && i < kUnknownAddresses * 4; ++i) {
    std::string candidate = unknown_address(i, t.list(static_cast<uint32_t>(i % t.size())).domain);
    if (t.resolve(candidate).verdict == table::Verdict::accept) continue;  // the table has such a list
    r.unknown.push_back(std::move(candidate));
  }
  if (r.unknown.empty()) return make_error(concat({path, ": found no address the table refuses"}));
  return r;
}

Result<Recipients> recipients_from_list(const std::vector<std::string>& addresses) {
  if (addresses.empty()) return make_error("no recipient addresses");
  Recipients r;
  r.known = addresses;
  for (size_t i = 0; i < kUnknownAddresses; ++i) {
    r.unknown.push_back(unknown_address(i, domain_of(addresses[i % addresses.size()])));
  }
  return r;
}

Result<std::vector<std::string>> parse_address_list(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    std::string_view one = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    const size_t at = one.rfind('@');
    if (one.empty() || at == 0 || at == std::string_view::npos || at + 1 == one.size() ||
        one.find_first_of("<> \t\r\n") != std::string_view::npos) {
      return make_error(concat({"'", one, "' is not an address (local@domain)"}));
    }
    out.emplace_back(one);
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

}  // namespace listgate::loadbench
