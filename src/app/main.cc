// main.cc - the listgate command: serve, check, aliases, spool.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#if LISTGATE_MIMALLOC
#include <mimalloc.h>
#endif

#include "listgate/app/config.h"
#include "listgate/app/log.h"
#include "listgate/table/list_table.h"
#include "listgate/table/loader.h"
#include "aliases_command.h"
#include "server.h"
#include "spool_command.h"

namespace {

using namespace listgate;

constexpr std::string_view kUsage =
    "usage: listgate <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve [-c FILE] [--lmtp HOST:PORT|unix:PATH] [--smtp HOST:PORT] [--table FILE]\n"
    "        [--io auto|uring|epoll] [--discard]\n"
    "                     run the gateway (see `listgate serve --help`)\n"
    "  check TABLE        parse and compile a list table; print counts and build time\n"
    "  aliases [-c FILE] [--dir DIR]   write the MTA's maps: postfix_lmtp, postfix_domains,\n"
    "                     postfix_vmap, exim_domains, lists/ (default DIR: the table's)\n"
    "  spool [-c FILE] [--spool-dir DIR]   list what waits in the retry spool and why\n"
    "  version            print the version\n";

int serve(int argc, const char* const* argv) {
  auto options = app::parse_serve_args(argc, argv);
  if (!options.ok()) {
    std::fprintf(stderr, "listgate serve: %s\n\n%.*s", options.error().message.c_str(),
                 static_cast<int>(app::serve_usage().size()), app::serve_usage().data());
    return 2;
  }
  if (options->help) {
    std::fwrite(app::serve_usage().data(), 1, app::serve_usage().size(), stdout);
    return 0;
  }
  std::vector<std::string> ignored;
  auto config = app::load_serve_config(options.value(), &ignored);
  if (!config.ok()) {
    app::log_event(app::Level::error, "config_error", {{"error", config.error().message}});
    return 1;
  }
  if (!ignored.empty()) {
    std::string list;
    for (const std::string& k : ignored) list += (list.empty() ? "" : ",") + k;
    app::log_event(app::Level::info, "config_ignored", {{"keys", list}});
  }
#if LISTGATE_MIMALLOC
  // Naming mimalloc here also keeps the linker from dropping it as unused.
  std::string allocator = "mimalloc-" + std::to_string(mi_version());
#else
  std::string allocator = "libc";
#endif
  app::log_event(app::Level::info, "starting", {{"version", LISTGATE_VERSION}, {"allocator", allocator}});
  app::Server server(std::move(config.value()));
  auto started = server.start();
  if (!started.ok()) {
    app::log_event(app::Level::error, "start_failed", {{"error", started.error().message}});
    return 1;
  }
  return server.run();
}

int check(int argc, const char* const* argv) {
  if (argc != 1) {
    std::fprintf(stderr, "usage: listgate check TABLE\n");
    return 2;
  }
  auto table = table::load_table_file(argv[0], table::TableOptions{});
  if (!table.ok()) {
    std::fprintf(stderr, "%s\n", table.error().message.c_str());
    return 1;
  }
  const table::TableStats& s = table.value()->stats();
  auto ms = [](std::chrono::nanoseconds t) { return std::chrono::duration<double, std::milli>(t).count(); };
  std::printf("%s: %zu lists, %zu domains, %zu alias domains, %zu owners, %zu members, %zu lists with a backend\n",
              argv[0], s.lists, s.domains, s.alias_domains, s.owners, s.members, s.backend_lists);
  std::printf("parse %.3f ms, hash build %.3f ms, total %.3f ms, %.1f MiB\n", ms(s.parse_time),
              ms(s.hash_build_time), ms(s.parse_time + s.hash_build_time), s.memory_bytes / 1048576.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fwrite(kUsage.data(), 1, kUsage.size(), stderr);
    return 2;
  }
  std::string_view command = argv[1];
  if (command == "serve") return serve(argc - 2, argv + 2);
  if (command == "check") return check(argc - 2, argv + 2);
  if (command == "spool") return app::run_spool_command(argc - 2, argv + 2);
  if (command == "aliases") return app::run_aliases_command(argc - 2, argv + 2);
  if (command == "version" || command == "--version") {
    std::printf("listgate %s\n", LISTGATE_VERSION);
    return 0;
  }
  if (command == "help" || command == "--help" || command == "-h") {
    std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
    return 0;
  }
  std::fprintf(stderr, "listgate: unknown command '%s'\n\n%.*s", argv[1], static_cast<int>(kUsage.size()),
               kUsage.data());
  return 2;
}
