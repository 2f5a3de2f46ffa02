// aliases_command.cc - `listgate aliases -c FILE [--dir DIR]`.
//
// Mailman's `mailman aliases`: loads the config and the table it names and
// writes postfix_lmtp, postfix_domains (and postfix_vmap), exim_domains and
// the lists/ marker files into DIR (default: the table file's directory).
#include "aliases_command.h"

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "command_flags.h"
#include "listgate/app/config.h"
#include "listgate/table/loader.h"
#include "map_settings.h"

namespace listgate::app {
namespace {

constexpr std::string_view kUsage =
    "usage: listgate aliases [-c FILE] [--dir DIR]\n"
    "  -c, --config FILE   mailman.cfg-style config file: its table, [mta] lmtp_host,\n"
    "                      lmtp_port, verp_delimiter, incoming, [listgate]\n"
    "                      postfix_map_type, postmap_command\n"
    "  --dir DIR           where to write (default: the table file's directory)\n"
    "  -h, --help          this text\n"
    "Writes postfix_lmtp, postfix_domains (postfix_vmap when a domain has an\n"
    "alias_domain), exim_domains and DIR/lists/LIST.DOMAIN marker files; with\n"
    "[mta] incoming: mailman.mta.exim4.LMTP only the Exim files, with\n"
    "mailman.mta.null.NullMTA nothing.\n";

}  // namespace

int run_aliases_command(int argc, const char* const* argv) {
  std::optional<std::string> dir;
  const PathFlag flags[] = {{"--dir", &dir}};
  Config config;
  if (auto exit_status = start_path_flag_command("aliases", kUsage, flags, argc, argv, config)) return *exit_status;
  if (config.mta.incoming == IncomingMta::null) {
    std::printf("[mta] incoming is %s: no MTA files to write\n", std::string(to_string(config.mta.incoming)).c_str());
    return 0;
  }
  const mta::MapSettings settings =
      map_settings(config, dir.value_or(table_directory(config.listgate.table)), config.mta.lmtp);
  table::TableOptions table_options;
  table_options.verp_delimiter = settings.text.verp_delimiter;
  auto table = table::load_table_file(config.listgate.table, table_options);
  if (!table) {
    std::fprintf(stderr, "listgate aliases: %s\n", table.error().message.c_str());
    return 1;
  }
  auto report = mta::write_maps(**table, settings);
  if (!report) {
    std::fprintf(stderr, "listgate aliases: %s (the Postfix maps were left as they were)\n", report.error().message.c_str());
    return 1;
  }
  for (const std::string& path : report->written) std::printf("wrote %s\n", path.c_str());
  for (const std::string& path : report->removed) std::printf("removed %s\n", path.c_str());
  for (const std::string& address : report->skipped) {
    std::fprintf(stderr, "listgate aliases: no Exim marker file for %s (its name has a '/')\n", address.c_str());
  }
  const char* postfix_part = !settings.postfix                         ? "no Postfix maps (incoming is exim4)"
                             : settings.text.type == mta::MapType::hash ? "hash tables"
                                                                         : "regexp tables";
  std::printf("%zu lists, %s, %zu Exim marker files in %s\n", (*table)->size(), postfix_part, report->markers,
              settings.dir.c_str());
  return 0;
}

}  // namespace listgate::app
