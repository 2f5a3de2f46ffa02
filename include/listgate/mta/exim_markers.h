// exim_markers.h - keeping DIR/lists/ in step with the table: one empty
// file per name, and no file for a name that is gone.
#pragma once

#include <string>
#include <vector>

#include "listgate/base/result.h"

namespace listgate::mta {

struct MarkerSync {
  std::vector<std::string> created;  // names
  std::vector<std::string> removed;  // names
};

// Creates `dir` if needed, an empty file for every name missing, and
// removes the regular files whose names are not in `names` (sorted). Only
// regular files are ever removed: a directory there is not listgate's.
Result<MarkerSync> sync_markers(const std::string& dir, const std::vector<std::string>& names);

}  // namespace listgate::mta
