// smtp_extensions.cc - EHLO/LHLO keyword parsing (see smtp_extensions.h).
//
// Each line is "KEYWORD [PARAM ...]"; a keyword is compared without regard
// to case. SIZE's number saturates instead of wrapping, so an absurd value
// means "very large", never "small".
#include "listgate/delivery/smtp_extensions.h"

#include <cstdint>
#include <limits>

namespace listgate::delivery {
namespace {

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (upper(a[i]) != upper(b[i])) return false;
  }
  return true;
}

std::string to_upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) c = upper(c);
  return u;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

uint64_t parse_size(std::string_view s) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  constexpr uint64_t kBase = 10;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return 0;  // not a number: no limit announced
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (kMax - d) / kBase) return kMax;
    n = n * kBase + d;
  }
  return n;
}

void add_mechanisms(Extensions& e, std::string_view params) {
  while (true) {
    params = trim(params);
    if (params.empty()) return;
    const size_t sp = params.find(' ');
    const std::string mech = to_upper(params.substr(0, sp));
    bool known = false;
    for (const std::string& m : e.auth) known = known || m == mech;
    if (!known) e.auth.push_back(mech);
    if (sp == std::string_view::npos) return;
    params.remove_prefix(sp);
  }
}

}  // namespace

bool Extensions::offers_auth(std::string_view mechanism) const {
  for (const std::string& m : auth) {
    if (iequals(m, mechanism)) return true;
  }
  return false;
}

Extensions parse_extensions(std::span<const std::string> lines) {
  Extensions e;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = trim(lines[i]);
    const size_t end = line.find_first_of(" =");
    const std::string_view keyword = line.substr(0, end);
    const std::string_view params = end == std::string_view::npos ? std::string_view{} : trim(line.substr(end + 1));
    if (iequals(keyword, "PIPELINING")) {
      e.pipelining = true;
    } else if (iequals(keyword, "SIZE")) {
      e.size = true;
      e.size_limit = parse_size(params);
    } else if (iequals(keyword, "8BITMIME")) {
      e.eightbitmime = true;
    } else if (iequals(keyword, "SMTPUTF8")) {
      e.smtputf8 = true;
    } else if (iequals(keyword, "ENHANCEDSTATUSCODES")) {
      e.enhanced_status_codes = true;
    } else if (iequals(keyword, "CHUNKING")) {
      e.chunking = true;
    } else if (iequals(keyword, "XVERP")) {
      e.xverp = true;
    } else if (iequals(keyword, "AUTH")) {
      add_mechanisms(e, params);
    }
  }
  return e;
}

}  // namespace listgate::delivery
