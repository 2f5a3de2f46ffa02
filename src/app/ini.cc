// ini.cc - reads mailman.cfg's INI syntax into sections and entries.
#include "ini.h"

#include <optional>

#include "text.h"

namespace listgate::app::ini {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

bool is_comment(std::string_view trimmed) {
  return !trimmed.empty() && (trimmed[0] == '#' || trimmed[0] == ';');
}

size_t indent_of(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return i;
}

Error error_at(std::string_view file, int line, std::string_view what) {
  std::string m;
  m.append(file).append(":").append(std::to_string(line)).append(": ").append(what);
  return make_error(std::move(m));
}

// Splits the text into lines without their "\n" or "\r\n".
class LineReader {
 public:
  explicit LineReader(std::string_view text) : rest_(text) {}
  std::optional<std::string_view> next() {
    if (done_) return std::nullopt;
    size_t nl = rest_.find('\n');
    std::string_view line = rest_.substr(0, nl);
    if (nl == std::string_view::npos) {
      done_ = true;
      rest_ = {};
    } else {
      rest_.remove_prefix(nl + 1);
      if (rest_.empty()) done_ = true;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++number_;
    return line;
  }
  int number() const { return number_; }

 private:
  std::string_view rest_;
  int number_ = 0;
  bool done_ = false;
};

}  // namespace

Result<std::vector<Section>> parse(std::string_view text, std::string_view file_name) {
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) text.remove_prefix(kUtf8Bom.size());

  std::vector<Section> sections;
  Entry* open_entry = nullptr;  // the entry continuation lines extend
  size_t open_indent = 0;
  int blank_lines = 0;  // blank lines since the open entry's last line

  LineReader reader(text);
  while (auto maybe_line = reader.next()) {
    const std::string_view line = *maybe_line;
    const int number = reader.number();
    const std::string_view trimmed = text::trim(line);
    if (is_comment(trimmed)) continue;
    if (trimmed.empty()) {
      if (open_entry != nullptr) ++blank_lines;
      continue;
    }
    const size_t indent = indent_of(line);
    if (open_entry != nullptr && indent > open_indent) {
      open_entry->value.append(static_cast<size_t>(blank_lines) + 1, '\n');
      open_entry->value.append(trimmed);
      blank_lines = 0;
      continue;
    }
    open_entry = nullptr;
    blank_lines = 0;

    if (trimmed.front() == '[') {
      size_t close = trimmed.find(']');
      if (close == std::string_view::npos) return error_at(file_name, number, "section header without ']'");
      std::string_view name = trimmed.substr(1, close - 1);
      std::string_view after = text::trim(trimmed.substr(close + 1));
      if (name.empty()) return error_at(file_name, number, "empty section name '[]'");
      if (!after.empty() && !is_comment(after)) {
        return error_at(file_name, number,
                        text::concat({"[", name, "]: unexpected text after the section header"}));
      }
      for (const Section& s : sections) {
        if (s.name == name) {
          return error_at(file_name, number, text::concat({"[", name, "]: section repeated (first at line ", std::to_string(s.line), ")"}));
        }
      }
      sections.push_back(Section{std::string(name), number, {}});
      continue;
    }

    size_t delim = trimmed.find_first_of(":=");
    if (delim == std::string_view::npos) {
      return error_at(file_name, number,
                      text::concat({"expected '[section]', 'key: value' or 'key = value', got '", trimmed, "'"}));
    }
    std::string key = text::to_lower(text::trim(trimmed.substr(0, delim)));
    if (key.empty()) return error_at(file_name, number, "a value without a key");
    if (sections.empty()) {
      return error_at(file_name, number, "key '" + key + "' comes before any [section]");
    }
    Section& section = sections.back();
    for (const Entry& e : section.entries) {
      if (e.key == key) {
        return error_at(file_name, number, "[" + section.name + "] " + key + ": key repeated (first at line " +
                                               std::to_string(e.line) + ")");
      }
    }
    section.entries.push_back(Entry{std::move(key), std::string(text::trim(trimmed.substr(delim + 1))), number});
    open_entry = &section.entries.back();
    open_indent = indent;
  }
  return sections;
}

}  // namespace listgate::app::ini
