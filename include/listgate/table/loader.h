// loader.h - reading the list table JSON (DESIGN.md section 3).
//
// Every problem is an error value whose message reads
// "FILE:LINE:COL: what is wrong", LINE and COL (1-based, COL in bytes)
// pointing at the offending value, so `listgate check` can print it as is.
// Nothing throws. The result is immutable and shared, ready to be swapped
// in on reload.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "listgate/base/result.h"
#include "listgate/table/list_table.h"

namespace listgate::table {

using TablePtr = std::shared_ptr<const ListTable>;

Result<TablePtr> load_table_file(const std::string& path, const TableOptions& options);

// `name_for_errors` stands for FILE in messages. The JSON is copied once
// (simdjson needs padding after the text).
Result<TablePtr> parse_table(std::string_view json, std::string_view name_for_errors,
                             const TableOptions& options);

}  // namespace listgate::table
