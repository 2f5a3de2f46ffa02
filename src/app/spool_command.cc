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

#include "listgate/app/config.h"
#include "listgate/delivery/spool.h"
#include "text.h"

namespace listgate::app {
namespace {

constexpr std::string_view kUsage =
    "usage: listgate spool [-c FILE] [--spool-dir DIR]\n"
    "  -c, --config FILE   mailman.cfg-style config file; its [listgate] spool_dir is listed\n"
    "  --spool-dir DIR     the spool directory (overrides the file)\n"
    "  -h, --help          this text\n"
    "Lists what waits in the retry spool and why. Nothing is changed: broken files\n"
    "are reported on stderr, and repaired by `listgate serve` when it starts.\n";

struct SpoolOptions {
  std::optional<std::string> config_file;
  std::optional<std::string> spool_dir;
  bool help = false;
};

Result<SpoolOptions> parse_spool_args(int argc, const char* const* argv) {
  SpoolOptions options;
  for (int i = 0; i < argc; ++i) {
    std::string_view word = argv[i];
    std::string_view name = word;
    std::optional<std::string_view> inline_value;
    if (size_t eq = word.find('='); word.starts_with("--") && eq != std::string_view::npos) {
      name = word.substr(0, eq);
      inline_value = word.substr(eq + 1);
    }
    if ((name == "-h" || name == "--help") && !inline_value) {
      options.help = true;
      continue;
    }
    std::optional<std::string>* target = nullptr;
    if (name == "-c" || name == "--config") target = &options.config_file;
    if (name == "--spool-dir") target = &options.spool_dir;
    if (target == nullptr) {
      if (word.empty() || word.front() != '-') {
        return make_error(text::concat({"unexpected argument '", word, "' (spool takes only flags)"}));
      }
      return make_error(text::concat({"unknown flag '", name, "'"}));
    }
    std::string_view value;
    if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return make_error(text::concat({name, ": needs a value"}));
    }
    if (value.empty()) return make_error(text::concat({name, ": needs a path"}));
    *target = std::string(value);
  }
  return options;
}

}  // namespace

int run_spool_command(int argc, const char* const* argv) {
  auto options = parse_spool_args(argc, argv);
  if (!options) {
    std::fprintf(stderr, "listgate spool: %s\n\n%.*s", options.error().message.c_str(),
                 static_cast<int>(kUsage.size()), kUsage.data());
    return 2;
  }
  if (options->help) {
    std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
    return 0;
  }
  Config config;
  if (options->config_file) {
    auto loaded = load_config_file(*options->config_file, nullptr);
    if (!loaded) {
      std::fprintf(stderr, "listgate spool: %s\n", loaded.error().message.c_str());
      return 1;
    }
    config = std::move(*loaded);
  }
  const std::string dir = options->spool_dir.value_or(config.listgate.spool_dir);

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
