// map_writer.h - `listgate aliases`: every MTA file into one directory.
//
// First the Exim macro file and the marker files (exim_files.h): they need
// no postmap, so an Exim site without Postfix still gets them when the
// Postfix part fails. Then the Postfix maps, all or nothing: the new texts
// go to temporary files, postmap runs on those (hash), and only when every
// step worked are they renamed over the old ones, each .db before its text
// (Postfix reads the .db and complains when the text is newer). Any failure
// removes the temporary files and leaves the old maps as they were. A
// lock file (`.listgate-maps.lock`, flock) keeps a `listgate aliases` and a
// reloading server from interleaving their renames, as Mailman's lock does.
//
// Blocking (file I/O, fsync, a child process): never call it on the
// reactor thread.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "listgate/base/result.h"
#include "listgate/mta/postfix_maps.h"
#include "listgate/table/list_table.h"

namespace listgate::mta {

inline constexpr const char* kPostfixLmtpFile = "postfix_lmtp";
inline constexpr const char* kPostfixDomainsFile = "postfix_domains";
inline constexpr const char* kPostfixVmapFile = "postfix_vmap";
inline constexpr const char* kLockFile = ".listgate-maps.lock";

struct MapSettings {
  std::string dir;
  // false: the Exim files only (Mailman's exim4 MTA), no Postfix maps, no postmap.
  bool postfix = true;
  MapTextOptions text;  // generated_at empty: now
  std::vector<std::string> postmap_command = {"/usr/sbin/postmap"};
  std::chrono::milliseconds postmap_timeout{60000};
};

struct MapWriteReport {
  std::vector<std::string> written;  // paths, in the order they were put in place
  std::vector<std::string> removed;  // a postfix_vmap no longer needed, stale markers
  size_t markers = 0;                // marker files the lists/ directory holds now
  std::vector<std::string> skipped;  // lists no marker file can name
};

Result<MapWriteReport> write_maps(const table::ListTable& table, const MapSettings& settings);

}  // namespace listgate::mta
