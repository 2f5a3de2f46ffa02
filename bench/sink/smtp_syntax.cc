// smtp_syntax.cc - see smtp_syntax.h.
#include "smtp_syntax.h"

#include <charconv>

namespace listgate::sink {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view skip_spaces(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

struct VerbName {
  std::string_view name;
  Verb verb;
};
constexpr VerbName kVerbs[] = {
    {"helo", Verb::helo}, {"ehlo", Verb::ehlo}, {"mail", Verb::mail}, {"rcpt", Verb::rcpt},
    {"data", Verb::data}, {"bdat", Verb::bdat}, {"rset", Verb::rset}, {"noop", Verb::noop},
    {"quit", Verb::quit}, {"auth", Verb::auth}, {"vrfy", Verb::vrfy}, {"help", Verb::help},
};
constexpr size_t kVerbLen = 4;

// The end of a bracketed path starting at s[0] == '<': index of its '>', or npos.
size_t closing_bracket(std::string_view s) {
  bool quoted = false;
  for (size_t i = 1; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '>') {
      return i;
    }
  }
  return std::string_view::npos;
}

}  // namespace

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool parse_decimal(std::string_view s, uint64_t* value) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *value);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_bdat_argument(std::string_view rest, uint64_t* size, bool* last) {
  const size_t space = rest.find(' ');
  *last = space != std::string_view::npos;
  if (*last && !equals_ignoring_case(rest.substr(space + 1), "LAST")) return false;
  return parse_decimal(rest.substr(0, space), size);
}

Verb parse_verb(std::string_view line, std::string_view* rest) {
  *rest = {};
  if (line.size() < kVerbLen || (line.size() > kVerbLen && line[kVerbLen] != ' ' && line[kVerbLen] != '\t')) {
    return Verb::unknown;
  }
  const std::string_view word = line.substr(0, kVerbLen);
  for (const VerbName& v : kVerbs) {
    if (equals_ignoring_case(word, v.name)) {
      *rest = skip_spaces(line.substr(kVerbLen));
      return v.verb;
    }
  }
  return Verb::unknown;
}

bool parse_path_argument(std::string_view rest, std::string_view keyword, std::string_view* address,
                         std::string_view* params) {
  if (rest.size() < keyword.size() || !equals_ignoring_case(rest.substr(0, keyword.size()), keyword)) return false;
  std::string_view s = skip_spaces(rest.substr(keyword.size()));
  if (s.empty()) return false;
  size_t after = 0;
  if (s[0] == '<') {
    const size_t close = closing_bracket(s);
    if (close == std::string_view::npos) return false;
    *address = s.substr(1, close - 1);
    after = close + 1;
  } else {
    after = s.find(' ');
    if (after == std::string_view::npos) after = s.size();
    *address = s.substr(0, after);
  }
  if (after < s.size() && s[after] != ' ' && s[after] != '\t') return false;
  *params = skip_spaces(s.substr(after));
  return true;
}

bool next_parameter(std::string_view& params, std::string_view* key, std::string_view* value) {
  params = skip_spaces(params);
  if (params.empty()) return false;
  size_t end = params.find_first_of(" \t");
  if (end == std::string_view::npos) end = params.size();
  std::string_view word = params.substr(0, end);
  params = params.substr(end);
  const size_t eq = word.find('=');
  if (eq == std::string_view::npos) {
    *key = word;
    *value = {};
  } else {
    *key = word.substr(0, eq);
    *value = word.substr(eq + 1);
  }
  return true;
}

}  // namespace listgate::sink
