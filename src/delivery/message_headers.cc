// message_headers.cc - the header section read in place, and the list's own header lines.
#include "listgate/delivery/message_headers.h"

#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>

#include "chain_lines.h"
#include "listgate/base/concat.h"

namespace listgate::delivery {
namespace {

enum Tag : int { kMessageId, kBeenThere };

// "list@dom", "<list@dom>" or "list@dom (comment)": the address alone.
std::string_view bare_address(std::string_view value) {
  value = detail::trim(value.substr(0, value.find('(')));
  if (value.size() >= 2 && value.front() == '<' && value.back() == '>') value = value.substr(1, value.size() - 2);
  return detail::trim(value);
}

void append_base36(std::string& out, uint64_t n) {
  constexpr std::string_view kDigits = "0123456789abcdefghijklmnopqrstuvwxyz";
  char buf[16];  // 2^64 has 13 base-36 digits
  size_t i = sizeof buf;
  do {
    buf[--i] = kDigits[n % 36];
    n /= 36;
  } while (n != 0);
  out.append(buf + i, sizeof buf - i);
}

}  // namespace

HeaderScan scan_headers(const io::SliceChain& body, size_t limit) {
  HeaderScan scan;
  detail::ChainLines lines(body, limit);
  const auto pick = [](std::string_view name) {
    if (detail::iequals(name, "Message-ID")) return int{kMessageId};
    if (detail::iequals(name, "X-BeenThere")) return int{kBeenThere};
    return -1;
  };
  const auto keep = [&](int tag, std::string_view value) {
    if (tag == kMessageId) {
      if (scan.has_message_id) return;  // the first one is the message's; more are broken mail
      scan.has_message_id = true;
      scan.message_id.assign(value);
      return;
    }
    std::string& v = scan.been_there.emplace_back(value);
    for (char& c : v) c = detail::ascii_lower(c);
  };
  const auto other = [&](std::string_view line) {
    if (!line.empty()) return true;  // not a field: skip it, as mail readers do
    scan.complete = true;
    scan.header_bytes = lines.line_begin();
    return false;
  };
  detail::read_fields(lines, pick, keep, other);
  if (!scan.complete) scan.header_bytes = lines.consumed();
  return scan;
}

bool been_there(const HeaderScan& scan, std::string_view list_address) {
  list_address = detail::trim(list_address);
  for (const std::string& value : scan.been_there) {
    if (detail::iequals(bare_address(value), list_address)) return true;
  }
  return false;
}

std::string list_header_lines(const ListHeaderFields& f) {
  // Built for every post: one buffer sized up front and appended to, no
  // temporary string per line.
  std::string joined;  // only when the caller gave no address
  std::string_view address = f.list_address;
  if (address.empty()) {
    joined = concat({f.local_part, "@", f.domain});
    address = joined;
  }
  const std::initializer_list<std::string_view> parts = {
      "List-Id: <", f.local_part, ".", f.domain, ">\r\n",
      "List-Post: <mailto:", address, ">\r\n",
      "List-Help: <mailto:", f.local_part, "-owner@", f.domain, "?subject=help>\r\n",
      "List-Unsubscribe: <mailto:", f.local_part, "-owner@", f.domain, "?subject=unsubscribe>\r\n",
      "Precedence: list\r\n",
      "X-BeenThere: ", address, "\r\n"};
  const std::initializer_list<std::string_view> id = {"Message-ID: ", f.new_message_id, "\r\n"};
  size_t size = 0;
  for (std::string_view p : parts) size += p.size();
  if (!f.new_message_id.empty()) {
    for (std::string_view p : id) size += p.size();
  }
  std::string out;
  out.reserve(size);
  if (!f.new_message_id.empty()) {
    for (std::string_view p : id) out.append(p);
  }
  for (std::string_view p : parts) out.append(p);
  return out;
}

std::string make_message_id(std::string_view hostname) {
  static std::atomic<uint64_t> counter{0};
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  std::string id = "<";
  append_base36(id, static_cast<uint64_t>(micros.count()));
  id += '.';
  append_base36(id, static_cast<uint64_t>(getpid()));
  id += '.';
  append_base36(id, counter.fetch_add(1, std::memory_order_relaxed));
  // Random bytes keep ids apart across hosts sharing a name and pids reused
  // within a clock step; without them time, pid and counter still suffice.
  uint32_t salt = 0;
  if (getrandom(&salt, sizeof salt, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof salt)) {
    id += '.';
    append_base36(id, salt);
  }
  return concat({id, "@", hostname.empty() ? std::string_view("localhost") : hostname, ">"});
}

}  // namespace listgate::delivery
