// fuzz_table_loader.cc - libFuzzer target: any bytes as a list table.
//
// The input is parsed as a table file. A broken one must give an error
// whose message starts with the file name and a position inside the text;
// a table that loads must answer for every list address it holds, as
// resolve() and as resolve_batch(), and must give no address it does not
// hold. Sanitizers (address, undefined) catch what the checks cannot.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "listgate/table/loader.h"

namespace {

constexpr std::string_view kName = "fuzz.json";
constexpr size_t kMaxChecked = 64;  // lists checked per input, to keep runs fast

void check(bool condition) {
  if (!condition) std::abort();
}

bool same(const listgate::table::Resolution& a, const listgate::table::Resolution& b) {
  return a.verdict == b.verdict && a.role == b.role && a.list == b.list && a.relay == b.relay;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace listgate::table;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto loaded = parse_table(text, kName, TableOptions{});
  if (!loaded.ok()) {
    const std::string& message = loaded.error().message;
    check(message.rfind(std::string(kName) + ":", 0) == 0);
    return 0;
  }
  const ListTable& table = *loaded.value();
  std::vector<std::string> owned;
  for (uint32_t i = 0; i < table.size() && i < kMaxChecked; ++i) {
    const ListInfo list = table.list(i);
    check(list.address.size() == list.local_part.size() + 1 + list.domain.size());
    for (const std::string_view member : list.members) check(!member.empty());
    const Resolution r = table.resolve(list.address);
    check(r.verdict == Verdict::accept && r.role == Role::posting && r.list == i);
    check(r.relay == (list.backend != nullptr));
    owned.emplace_back(list.address);
    owned.push_back(std::string(list.local_part) + "-owner@" + std::string(list.domain));
    owned.push_back(std::string(list.local_part) + "x@" + std::string(list.domain));
  }
  // Bytes of the input as an address too.
  owned.emplace_back(text.substr(0, 400));
  const std::vector<std::string_view> addresses(owned.begin(), owned.end());
  std::vector<Resolution> results(addresses.size());
  table.resolve_batch(addresses, results);
  for (size_t i = 0; i < addresses.size(); ++i) {
    const Resolution one = table.resolve(addresses[i]);
    check(same(one, results[i]));
    if (one.verdict == Verdict::accept) check(one.list < table.size());
  }
  return 0;
}
