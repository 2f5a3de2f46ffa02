// spool_command.cc - `listgate spool`: lists the retry spool without touching it.
//
// A running server owns the spool, so this only looks: the directory is not
// created, load_all() does not repair, and what it would repair is printed as
// a problem instead. An operator without write access can still run it.
#include "spool_command.h"

#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "command_flags.h"
#include "listgate/app/config.h"
#include "listgate/delivery/spool.h"

namespace listgate::app {
namespace {

constexpr std::string_view kUsage =
    "usage: listgate spool [-c FILE] [--spool-dir DIR]\n"
    "  -c, --config FILE   mailman.cfg-style config file; its [listgate] spool_dir is listed\n"
    "  --spool-dir DIR     the spool directory (overrides the file)\n"
    "  -h, --help          this text\n"
    "Lists what waits in the retry spool and why. Nothing is changed: broken files\n"
    "are reported on stderr, and repaired by `listgate serve` when it starts.\n";

}  // namespace

int run_spool_command(int argc, const char* const* argv) {
  std::optional<std::string> spool_dir;
  const PathFlag flags[] = {{"--spool-dir", &spool_dir}};
  Config config;
  if (auto exit_status = start_path_flag_command("spool", kUsage, flags, argc, argv, config)) return *exit_status;
  const std::string dir = spool_dir.value_or(config.listgate.spool_dir);

  auto spool = delivery::Spool::open(dir, /*create=*/false);
  if (!spool) {
    std::fprintf(stderr, "listgate spool: %s\n", spool.error().message.c_str());
    return 1;
  }
  std::vector<std::string> problems;
  auto entries = (*spool)->load_all(&problems, /*repair=*/false);
  for (const std::string& problem : problems) std::fprintf(stderr, "listgate spool: %s\n", problem.c_str());
  if (!entries) {
    std::fprintf(stderr, "listgate spool: %s\n", entries.error().message.c_str());
    return 1;
  }
  const std::string listing = delivery::format_spool_listing(*entries, std::time(nullptr));
  std::fwrite(listing.data(), 1, listing.size(), stdout);
  return 0;
}

}  // namespace listgate::app
