// file_writes.h - writing files so that readers see the old one or the new
// one, never a part: write a temporary file in the same directory, fsync
// it, rename it over the old one, fsync the directory.
#pragma once

#include <string>
#include <string_view>

#include "listgate/base/result.h"

namespace listgate::mta {

// Writes `text` to a new file `DIR/BASE.tmp.XXXXXX` (mode 0644), fsync'ed
// and closed; returns its path. On error nothing is left behind.
Result<std::string> write_temp_file(const std::string& dir, std::string_view base, std::string_view text);

// rename(2) with the error as a value naming both paths.
Result<void> rename_file(const std::string& from, const std::string& to);

// fsync of a directory, so that renames in it survive a crash.
Result<void> sync_directory(const std::string& dir);

// The three steps above for one file: `DIR/NAME` holds `text` afterwards.
Result<void> write_file_atomically(const std::string& dir, std::string_view name, std::string_view text);

// unlink(2) that is fine with a file that is not there; true if it removed one.
Result<bool> remove_if_present(const std::string& path);

bool file_exists(const std::string& path);

}  // namespace listgate::mta
