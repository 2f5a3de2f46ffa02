// synthetic_table.cc - generating benchmark tables and recipients.
#include "synthetic_table.h"

#include <algorithm>
#include <cctype>
#include <random>
#include <unordered_set>

namespace listgate::bench {

namespace {

constexpr const char* kWords[] = {
    "announce", "dev", "users", "team", "project", "news", "general", "support", "security",
    "release", "build", "core", "infra", "design", "docs", "web", "mobile", "data", "ops",
    "sales", "marketing", "hr", "finance", "legal", "board", "staff", "alumni", "events",
    "chapter", "local", "global", "east", "west", "north", "south", "beta", "alpha", "test",
    "discuss", "help", "commits", "bugs", "patches", "review", "students", "faculty", "club",
    "music", "sports", "chess", "garden", "photo", "travel", "books", "film", "cooking",
    "linux", "python", "kernel", "mailman", "postfix", "exim", "debian", "gnome", "kde"};
constexpr size_t kWordCount = sizeof(kWords) / sizeof(kWords[0]);
constexpr size_t kDomainCount = 16;
constexpr size_t kAliasedDomains = 2;     // domains 0 and 1 have an alias
constexpr unsigned kBackendEveryNth = 10;
constexpr unsigned kRoleNameEveryNth = 500;  // lists named like "x-request"

std::string domain_name(size_t i) { return "lists" + std::to_string(i) + ".example.org"; }
std::string alias_name(size_t i) { return "alias" + std::to_string(i) + ".example.net"; }

std::string list_name(std::mt19937_64& rng) {
  std::string name = kWords[rng() % kWordCount];
  const unsigned parts = 1 + static_cast<unsigned>(rng() % 3);
  for (unsigned p = 1; p < parts; ++p) {
    name += (rng() % 4 == 0) ? '.' : '-';
    name += kWords[rng() % kWordCount];
  }
  if (rng() % 2 == 0) name += std::to_string(rng() % 100000);
  if (rng() % kRoleNameEveryNth == 0) name += "-request";
  return name;
}

// Upper-cases some letters, the way mail clients and people write addresses.
void vary_case(std::string& address, std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0:
      break;  // as is
    case 1:
      address[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(address[0])));
      break;
    case 2:
      for (char& c : address) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      break;
    default:
      for (size_t i = address.find('@'); i < address.size(); ++i) {
        address[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(address[i])));
      }
      break;
  }
}

RecipientStream pack(std::vector<std::string>&& recipients, uint64_t seed) {
  std::shuffle(recipients.begin(), recipients.end(), std::mt19937_64(seed));
  RecipientStream stream;
  size_t total = 0;
  for (const std::string& r : recipients) total += r.size();
  stream.bytes.reserve(total);
  for (const std::string& r : recipients) stream.bytes += r;
  size_t offset = 0;
  for (const std::string& r : recipients) {
    stream.addresses.emplace_back(stream.bytes.data() + offset, r.size());
    offset += r.size();
  }
  return stream;
}

}  // namespace

SyntheticTable make_synthetic_table(size_t list_count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  SyntheticTable table;
  table.json.reserve(list_count * 170);
  table.json += "{\n  \"domains\": {\n";
  for (size_t d = 0; d < kDomainCount; ++d) {
    table.json += "    \"" + domain_name(d) + "\": {";
    if (d < kAliasedDomains) table.json += "\"alias_domain\": \"" + alias_name(d) + "\"";
    table.json += d + 1 < kDomainCount ? "},\n" : "}\n";
  }
  table.json += "  },\n  \"lists\": [\n";
  std::unordered_set<std::string> seen;
  seen.reserve(list_count);
  table.addresses.reserve(list_count);
  while (table.addresses.size() < list_count) {
    std::string address = list_name(rng) + "@" + domain_name(rng() % kDomainCount);
    if (!seen.insert(address).second) continue;
    const size_t i = table.addresses.size();
    table.json += i == 0 ? "    {" : ",\n    {";
    table.json += "\"address\": \"" + address + "\", \"owners\": [\"owner" + std::to_string(i % 97) +
                  "@example.com\"], \"members\": [\"Alice" + std::to_string(i) +
                  "@example.com\", \"bob" + std::to_string(i) + "@example.net\"]";
    if (i % 2 == 0) table.json += ", \"verp\": true";
    if (i % kBackendEveryNth == 0) table.json += ", \"backend\": \"lmtp:[127.0.0.1]:8024\"";
    table.json += "}";
    table.addresses.push_back(std::move(address));
  }
  table.json += "\n  ]\n}\n";
  return table;
}

RecipientStream make_hits(const SyntheticTable& table, size_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> recipients;
  recipients.reserve(count);
  for (size_t n = 0; n < count; ++n) {
    const size_t i = rng() % table.addresses.size();
    const std::string& address = table.addresses[i];
    const size_t at = address.find('@');
    std::string local = address.substr(0, at);
    std::string domain = address.substr(at + 1);
    const unsigned form = static_cast<unsigned>(rng() % 20);
    if (form < 13) {
      // posting, as written
    } else if (form < 15) {
      local += "-owner";
    } else if (form < 17) {
      local += "-bounces+alice" + std::to_string(i) + "=example.com";
    } else if (form < 18 && i % kBackendEveryNth == 0) {
      local += "-request";
    } else if (domain == domain_name(0)) {
      domain = alias_name(0);
    }
    std::string recipient = local + "@" + domain;
    vary_case(recipient, rng);
    recipients.push_back(std::move(recipient));
  }
  return pack(std::move(recipients), seed + 1);
}

RecipientStream make_misses(const SyntheticTable& table, size_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::unordered_set<std::string> existing(table.addresses.begin(), table.addresses.end());
  std::vector<std::string> recipients;
  recipients.reserve(count);
  while (recipients.size() < count) {
    const std::string& address = table.addresses[rng() % table.addresses.size()];
    const size_t at = address.find('@');
    std::string local = address.substr(0, at);
    std::string domain = address.substr(at + 1);
    const unsigned form = static_cast<unsigned>(rng() % 10);
    if (form < 6) {
      local += static_cast<char>('a' + rng() % 26);  // a near miss: one more letter
    } else if (form < 8) {
      local += "-archive";  // not a role word
    } else if (form < 9) {
      local = list_name(rng);  // another plausible name
    } else {
      domain = "example" + std::to_string(rng() % 1000) + ".com";  // unknown domain
    }
    std::string recipient = local + "@" + domain;
    std::string lower = recipient;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (existing.count(lower) != 0) continue;
    vary_case(recipient, rng);
    recipients.push_back(std::move(recipient));
  }
  return pack(std::move(recipients), seed + 1);
}

}  // namespace listgate::bench
