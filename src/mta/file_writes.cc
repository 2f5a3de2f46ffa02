// file_writes.cc - temporary file, fsync, rename, directory fsync.
#include "listgate/mta/file_writes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "listgate/base/concat.h"

namespace listgate::mta {
namespace {

Error errno_error(std::string_view what, const std::string& path) {
  return make_error(concat({what, " ", path, ": ", std::strerror(errno)}));
}

Result<void> write_all(int fd, std::string_view text, const std::string& path) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write", path);
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

}  // namespace

Result<std::string> write_temp_file(const std::string& dir, std::string_view base, std::string_view text) {
  std::string path = concat({dir, "/", base, ".tmp.XXXXXX"});
  std::vector<char> name(path.begin(), path.end());
  name.push_back('\0');
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) return errno_error("create", path);
  path.assign(name.data());
  Result<void> written = write_all(fd, text, path);
  // mkstemp makes 0600; the MTA reading the map may run as another user.
  if (written && ::fchmod(fd, 0644) != 0) written = errno_error("chmod", path);
  if (written && ::fsync(fd) != 0) written = errno_error("fsync", path);
  if (::close(fd) != 0 && written) written = errno_error("close", path);
  if (!written) {
    ::unlink(path.c_str());
    return written.error();
  }
  return path;
}

Result<void> rename_file(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return make_error(concat({"rename ", from, " to ", to, ": ", std::strerror(errno)}));
  }
  return {};
}

Result<void> sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_error("open", dir);
  const int synced = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  if (synced != 0) return errno_error("fsync", dir);
  return {};
}

Result<void> write_file_atomically(const std::string& dir, std::string_view name, std::string_view text) {
  Result<std::string> temp = write_temp_file(dir, name, text);
  if (!temp) return temp.error();
  if (Result<void> renamed = rename_file(*temp, concat({dir, "/", name})); !renamed) {
    ::unlink(temp->c_str());
    return renamed;
  }
  return sync_directory(dir);
}

Result<bool> remove_if_present(const std::string& path) {
  if (::unlink(path.c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  return errno_error("remove", path);
}

bool file_exists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace listgate::mta
