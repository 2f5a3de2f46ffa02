// serve_args.cc - the flags of `listgate serve`, and laying them over the file.
//
// Flags override the file: parse the flags, load the file named by -c (or
// start from the defaults), then apply_serve_options. Values are checked
// here with the same parsers the file uses, so errors read alike.
#include <array>

#include "command_flags.h"
#include "listgate/app/config.h"
#include "text.h"

namespace listgate::app {
namespace {

constexpr std::string_view kUsage =
    "usage: listgate serve [-c FILE] [--lmtp HOST:PORT|unix:PATH] [--smtp HOST:PORT]\n"
    "                      [--table FILE] [--io auto|uring|epoll] [--discard]\n"
    "  -c, --config FILE   mailman.cfg-style config file (default: built-in defaults)\n"
    "  --lmtp ADDRESS      listen for LMTP here (overrides [mta] lmtp_host/lmtp_port)\n"
    "  --smtp HOST:PORT    deliver to this SMTP server (overrides [mta] smtp_host/smtp_port)\n"
    "  --table FILE        the list table (overrides [listgate] table)\n"
    "  --io BACKEND        auto, uring or epoll (overrides [listgate] io)\n"
    "  --discard           answer as if delivered and drop the mail (front-end benchmark)\n"
    "  -h, --help          this text\n";

enum class Flag { config, lmtp, smtp, table, io, discard, help };

struct FlagSpec {
  std::string_view name;
  Flag flag;
  bool takes_value;
};

constexpr std::array<FlagSpec, 9> kFlags{{
    {"-c", Flag::config, true},
    {"--config", Flag::config, true},
    {"--lmtp", Flag::lmtp, true},
    {"--smtp", Flag::smtp, true},
    {"--table", Flag::table, true},
    {"--io", Flag::io, true},
    {"--discard", Flag::discard, false},
    {"-h", Flag::help, false},
    {"--help", Flag::help, false},
}};

const FlagSpec* find_flag(std::string_view name) {
  for (const FlagSpec& spec : kFlags) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

Error flag_error(std::string_view flag, std::string_view what) {
  return make_error(text::concat({flag, ": ", what}));
}

Result<void> set(ServeOptions& options, const FlagSpec& spec, std::string_view value) {
  switch (spec.flag) {
    case Flag::config:
    case Flag::table:
      if (value.empty()) return flag_error(spec.name, "needs a file name");
      (spec.flag == Flag::config ? options.config_file : options.table) = std::string(value);
      return {};
    case Flag::lmtp:
    case Flag::smtp: {
      const bool lmtp = spec.flag == Flag::lmtp;
      auto address = parse_address(value, lmtp ? AllowUnix::yes : AllowUnix::no);
      if (!address) return flag_error(spec.name, address.error().message);
      if (!lmtp && address->port == 0) return flag_error(spec.name, "port 0 cannot be connected to");
      (lmtp ? options.lmtp : options.smtp) = std::move(*address);
      return {};
    }
    case Flag::io: {
      auto io = parse_io_backend(value);
      if (!io) return flag_error(spec.name, io.error().message);
      options.io = *io;
      return {};
    }
    case Flag::discard:
      options.discard = true;
      return {};
    case Flag::help:
      options.help = true;
      return {};
  }
  return {};
}

}  // namespace

std::string_view serve_usage() { return kUsage; }

Result<ServeOptions> parse_serve_args(int argc, const char* const* argv) {
  ServeOptions options;
  for (int i = 0; i < argc; ++i) {
    const std::string_view word = argv[i];
    const FlagWord flag = split_flag_word(word);
    const FlagSpec* spec = find_flag(flag.name);
    if (spec == nullptr) return not_a_flag_error("serve", word, flag);
    std::string_view value;
    if (spec->takes_value) {
      auto taken = take_flag_value(flag, i, argc, argv);
      if (!taken) return taken.error();
      value = *taken;
    } else if (flag.inline_value) {
      return flag_error(spec->name, "takes no value");
    }
    if (auto r = set(options, *spec, value); !r) return r.error();
  }
  return options;
}

void apply_serve_options(const ServeOptions& options, Config& config) {
  if (options.lmtp) config.mta.lmtp = *options.lmtp;
  if (options.smtp) config.mta.smtp = *options.smtp;
  if (options.table) config.listgate.table = *options.table;
  if (options.io) config.listgate.io = *options.io;
  if (options.discard) config.discard = true;
}

Result<Config> load_serve_config(const ServeOptions& options, std::vector<std::string>* ignored) {
  Config config;
  if (options.config_file) {
    auto loaded = load_config_file(*options.config_file, ignored);
    if (!loaded) return loaded.error();
    config = std::move(*loaded);
  }
  apply_serve_options(options, config);
  return config;
}

}  // namespace listgate::app
