// exim_markers.cc - DIR/lists/: create what is missing, remove what is gone.
#include "listgate/mta/exim_markers.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "listgate/base/concat.h"
#include "listgate/mta/file_writes.h"

namespace listgate::mta {
namespace {

Error errno_error(std::string_view what, const std::string& path) {
  return make_error(concat({what, " ", path, ": ", std::strerror(errno)}));
}

// The regular files in `dir` (lstat: a symlink is not ours either).
Result<std::vector<std::string>> regular_files(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return errno_error("open", dir);
  std::vector<std::string> files;
  while (const dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    struct stat st{};
    if (::lstat(concat({dir, "/", name}).c_str(), &st) == 0 && S_ISREG(st.st_mode)) files.push_back(name);
  }
  ::closedir(d);
  return files;
}

}  // namespace

Result<MarkerSync> sync_markers(const std::string& dir, const std::vector<std::string>& names) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return errno_error("create", dir);
  MarkerSync sync;
  for (const std::string& name : names) {
    const std::string path = concat({dir, "/", name});
    if (file_exists(path)) continue;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return errno_error("create", path);
    ::close(fd);
    sync.created.push_back(name);
  }
  Result<std::vector<std::string>> present = regular_files(dir);
  if (!present) return present.error();
  for (const std::string& name : *present) {
    if (std::binary_search(names.begin(), names.end(), name)) continue;
    Result<bool> removed = remove_if_present(concat({dir, "/", name}));
    if (!removed) return removed.error();
    if (*removed) sync.removed.push_back(name);
  }
  std::sort(sync.removed.begin(), sync.removed.end());
  if (Result<void> synced = sync_directory(dir); !synced) return synced.error();
  return sync;
}

}  // namespace listgate::mta
