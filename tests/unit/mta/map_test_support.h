// map_test_support.h - tables from JSON and Mailman's way of reading a map.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "listgate/table/loader.h"

namespace listgate::mta::testing {

inline table::TablePtr load(std::string_view json) {
  Result<table::TablePtr> table = table::parse_table(json, "t.json", {});
  EXPECT_TRUE(table.ok()) << (table.ok() ? "" : table.error().message);
  return table.ok() ? table.value() : std::make_shared<table::ListTable>();
}

// Python's str.splitlines() for "\n" ends.
inline std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    lines.emplace_back(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  }
  return lines;
}

// Mailman's test helper _strip_header(): drop the seven header lines and
// join the rest with "\n" (so the file's last blank line goes).
inline std::string strip_header(std::string_view text) {
  const std::vector<std::string> lines = split_lines(text);
  std::string out;
  for (size_t i = 7; i < lines.size(); ++i) {
    if (i > 7) out += '\n';
    out += lines[i];
  }
  return out;
}

}  // namespace listgate::mta::testing
