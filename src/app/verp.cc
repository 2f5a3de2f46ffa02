// verp.cc - Mailman's verp_format: a Python string.Template.
//
// `$name` or `${name}` with name one of bounces, local, domain; `$$` is a
// dollar. The expansion is the envelope sender's local part; the caller adds
// "@" and the list's domain, as Mailman's VERPDelivery does.
#include "verp.h"

#include <array>

#include "text.h"

namespace listgate::app {
namespace {

constexpr std::array<std::string_view, 3> kPlaceholders{"bounces", "local", "domain"};

bool is_ident_start(char c) { return text::is_alpha(c) || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || text::is_digit(c); }

// Calls on_text(literal) and on_name(placeholder) in order; an error for a
// `$` that starts no valid placeholder.
template <class OnText, class OnName>
Result<void> walk(std::string_view format, OnText on_text, OnName on_name) {
  size_t i = 0;
  while (i < format.size()) {
    size_t dollar = format.find('$', i);
    if (dollar == std::string_view::npos) {
      on_text(format.substr(i));
      break;
    }
    on_text(format.substr(i, dollar - i));
    size_t p = dollar + 1;
    if (p < format.size() && format[p] == '$') {
      on_text("$");
      i = p + 1;
      continue;
    }
    std::string_view name;
    if (p < format.size() && format[p] == '{') {
      size_t close = format.find('}', p);
      if (close == std::string_view::npos) return make_error("'${' without a closing '}'");
      name = format.substr(p + 1, close - p - 1);
      i = close + 1;
    } else {
      size_t end = p;
      while (end < format.size() && is_ident_char(format[end])) ++end;
      name = format.substr(p, end - p);
      i = end;
    }
    if (name.empty() || !is_ident_start(name.front())) {
      return make_error("a '$' that starts no placeholder (write $$ for a dollar)");
    }
    for (char c : name) {
      if (!is_ident_char(c)) return make_error(text::concat({"'${", name, "}' is not a placeholder name"}));
    }
    if (auto r = on_name(name); !r) return r;
  }
  return {};
}

}  // namespace

Result<void> validate_verp_format(std::string_view format) {
  std::array<bool, kPlaceholders.size()> seen{};
  auto r = walk(
      format, [](std::string_view) {},
      [&](std::string_view name) -> Result<void> {
        for (size_t k = 0; k < kPlaceholders.size(); ++k) {
          if (kPlaceholders[k] == name) {
            seen[k] = true;
            return {};
          }
        }
        return make_error(text::concat({"unknown placeholder $", name, " (use $bounces, $local and $domain)"}));
      });
  if (!r) return r;
  for (size_t k = 0; k < kPlaceholders.size(); ++k) {
    if (!seen[k]) return make_error(text::concat({"must contain $", kPlaceholders[k]}));
  }
  if (format.find('@') != std::string_view::npos) {
    return make_error("must not contain '@' (it makes the local part; the list's domain is added)");
  }
  return {};
}

std::string expand_verp_format(std::string_view format, std::string_view bounces, std::string_view local,
                               std::string_view domain) {
  std::string out;
  out.reserve(format.size() + bounces.size() + local.size() + domain.size());
  const std::array<std::string_view, kPlaceholders.size()> values{bounces, local, domain};
  (void)walk(
      format, [&](std::string_view literal) { out.append(literal); },
      [&](std::string_view name) -> Result<void> {
        for (size_t k = 0; k < kPlaceholders.size(); ++k) {
          if (kPlaceholders[k] == name) out.append(values[k]);
        }
        return {};
      });
  return out;
}

}  // namespace listgate::app
