// map_writer.cc - the Exim files, then the Postfix maps all or nothing.
#include "listgate/mta/map_writer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "listgate/base/concat.h"
#include "listgate/mta/exim_files.h"
#include "listgate/mta/exim_markers.h"
#include "listgate/mta/file_writes.h"
#include "listgate/mta/postmap.h"

namespace listgate::mta {
namespace {

// A map on its way in: its text in a temporary file, and for a hash table
// the .db postmap made of it.
struct PendingMap {
  std::string name;
  std::string temp;
  bool has_db = false;
};

// Removes the temporary files of maps not put in place.
class PendingMaps {
 public:
  ~PendingMaps() {
    for (const PendingMap& map : maps_) {
      ::unlink(map.temp.c_str());
      ::unlink(concat({map.temp, ".db"}).c_str());
    }
  }
  std::vector<PendingMap>& maps() { return maps_; }
  void release() { maps_.clear(); }

 private:
  std::vector<PendingMap> maps_;
};

// flock(2) on DIR/.listgate-maps.lock for the lifetime of the object.
class DirectoryLock {
 public:
  static Result<DirectoryLock> take(const std::string& dir) {
    const std::string path = concat({dir, "/", kLockFile});
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return make_error(concat({"create ", path, ": ", std::strerror(errno)}));
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      return make_error(concat({"lock ", path, ": ", std::strerror(saved)}));
    }
    return DirectoryLock(fd);
  }
  DirectoryLock(DirectoryLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  DirectoryLock& operator=(DirectoryLock&&) = delete;
  ~DirectoryLock() {
    if (fd_ >= 0) ::close(fd_);  // closing drops the lock
  }

 private:
  explicit DirectoryLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Writes the maps' temporary files and, for hash tables, their .db.
Result<void> prepare(const table::ListTable& table, const MapSettings& settings, const MapTextOptions& text,
                     PendingMaps& pending) {
  std::vector<std::pair<const char*, std::string>> texts;
  texts.emplace_back(kPostfixLmtpFile, postfix_lmtp_text(table, text));
  texts.emplace_back(kPostfixDomainsFile, postfix_domains_text(table, text));
  if (std::optional<std::string> vmap = postfix_vmap_text(table, text)) texts.emplace_back(kPostfixVmapFile, *vmap);
  for (auto& [name, content] : texts) {
    Result<std::string> temp = write_temp_file(settings.dir, name, content);
    if (!temp) return temp.error();
    pending.maps().push_back({name, *temp, false});
  }
  if (text.type != MapType::hash) return {};
  for (PendingMap& map : pending.maps()) {
    if (Result<void> ran = run_postmap(settings.postmap_command, map.temp, settings.postmap_timeout); !ran) {
      return ran;
    }
    if (!file_exists(concat({map.temp, ".db"}))) {
      return make_error(concat({"postmap_command made no ", map.temp, ".db"}));
    }
    map.has_db = true;
  }
  return {};
}

// Renames every map into place, each .db before its text.
Result<void> install(const MapSettings& settings, PendingMaps& pending, MapWriteReport& report) {
  for (const PendingMap& map : pending.maps()) {
    const std::string target = concat({settings.dir, "/", map.name});
    if (map.has_db) {
      if (Result<void> moved = rename_file(concat({map.temp, ".db"}), concat({target, ".db"})); !moved) return moved;
      report.written.push_back(concat({target, ".db"}));
    }
    if (Result<void> moved = rename_file(map.temp, target); !moved) return moved;
    report.written.push_back(target);
  }
  return {};
}

Result<void> remove_stale_vmap(const MapSettings& settings, MapWriteReport& report) {
  for (const std::string& path : {concat({settings.dir, "/", kPostfixVmapFile, ".db"}),
                                 concat({settings.dir, "/", kPostfixVmapFile})}) {
    Result<bool> removed = remove_if_present(path);
    if (!removed) return removed.error();
    if (*removed) report.removed.push_back(path);
  }
  return {};
}

Result<void> write_exim_files(const table::ListTable& table, const MapSettings& settings,
                              const std::string& generated_at, MapWriteReport& report) {
  if (Result<void> ok = write_file_atomically(settings.dir, kEximDomainsFile, exim_domains_text(table, generated_at));
      !ok) {
    return ok;
  }
  report.written.push_back(concat({settings.dir, "/", kEximDomainsFile}));
  const std::string lists_dir = concat({settings.dir, "/", kEximListsDir});
  const std::vector<std::string> names = exim_marker_names(table, &report.skipped);
  Result<MarkerSync> synced = sync_markers(lists_dir, names);
  if (!synced) return synced.error();
  for (const std::string& name : synced->removed) report.removed.push_back(concat({lists_dir, "/", name}));
  report.markers = names.size();
  report.written.push_back(lists_dir + "/");
  return {};
}

}  // namespace

Result<MapWriteReport> write_maps(const table::ListTable& table, const MapSettings& settings) {
  MapTextOptions text = settings.text;
  if (text.generated_at.empty()) text.generated_at = generated_now();
  Result<DirectoryLock> lock = DirectoryLock::take(settings.dir);
  if (!lock) return lock.error();

  MapWriteReport report;
  if (Result<void> exim = write_exim_files(table, settings, text.generated_at, report); !exim) return exim.error();
  if (!settings.postfix) {
    if (Result<void> synced = sync_directory(settings.dir); !synced) return synced.error();
    return report;
  }
  PendingMaps pending;
  if (Result<void> prepared = prepare(table, settings, text, pending); !prepared) return prepared.error();
  const bool has_vmap = std::any_of(pending.maps().begin(), pending.maps().end(),
                                    [](const PendingMap& map) { return map.name == kPostfixVmapFile; });
  if (Result<void> installed = install(settings, pending, report); !installed) return installed.error();
  pending.release();
  if (!has_vmap) {
    if (Result<void> removed = remove_stale_vmap(settings, report); !removed) return removed.error();
  }
  if (Result<void> synced = sync_directory(settings.dir); !synced) return synced.error();
  return report;
}

}  // namespace listgate::mta
