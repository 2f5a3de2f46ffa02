// options.cc - parsing listgate-bench's flags (see options.h).
#include "options.h"

#include <charconv>
#include <cmath>

#include "listgate/base/concat.h"
#include "recipients.h"

namespace listgate::loadbench {
namespace {

constexpr std::string_view kUsage =
    "usage: listgate-bench load --lmtp HOST:PORT|unix:PATH (--table FILE | --to ADDR[,ADDR...]) [flags]\n"
    "       listgate-bench e2e [flags]\n"
    "\n"
    "load: LMTP load against a running server.\n"
    "  --lmtp ADDRESS          the server\n"
    "  --table FILE            send to the posting addresses of this list table\n"
    "  --to ADDR[,ADDR...]     send to these addresses\n"
    "e2e: start listgate-sink and listgate serve in a temporary directory, then the load.\n"
    "  --table FILE            the table listgate serves, backends pointed at the sink\n"
    "                          (default: tools/example/lists.json)\n"
    "  --lists N               serve a generated table of N lists instead ...\n"
    "  --members M             ... of M members each (default 10)\n"
    "  --discard               listgate serve --discard (no sink, nothing delivered)\n"
    "  --listgate PATH         listgate binary (default BUILDDIR/src/app/listgate)\n"
    "  --sink PATH             listgate-sink binary (default BUILDDIR/bench/sink/listgate-sink)\n"
    "  --listgate-cpu N        pin listgate to CPU N\n"
    "  --sink-cpu N            pin the sink to CPU N\n"
    "  --keep                  keep the temporary directory (config, table, logs)\n"
    "both:\n"
    "  --connections N         LMTP connections (default 16)\n"
    "  --size SPEC             message size: 4096, 4k, LOW:HIGH uniform, or A,B,C (default 4096)\n"
    "  --rcpts N               recipients per message (default 1)\n"
    "  --unknown P             share of recipients not in the table, which must get 550 (default 0)\n"
    "  --duration TIME         run this long: 10s, 500ms, 2m (default 10s)\n"
    "  --messages N            send N messages instead of running for a duration\n"
    "  --io auto|uring|epoll   reactor backend (e2e: listgate and the sink too; default auto)\n"
    "  --no-overlap            wait for a message's replies before the next envelope\n"
    "  --seed N                seed of the unknown recipients and size draws (default 1)\n"
    "  --cpu N                 pin the load generator to CPU N\n"
    "  --json                  print the result as one JSON object\n"
    "  --plot FILE.svg         write messages/s over time as an SVG plot\n"
    "  --quiet                 no progress on stderr\n"
    "  -h, --help              this text\n";

constexpr std::string_view kSwitches[] = {"json", "quiet", "no-overlap", "discard", "keep", "help"};

bool is_switch(std::string_view name) {
  for (std::string_view s : kSwitches) {
    if (s == name) return true;
  }
  return false;
}

Error flag_error(std::string_view name, std::string_view what) { return make_error(concat({"--", name, ": ", what})); }

Result<uint64_t> parse_count(std::string_view name, std::string_view text, uint64_t min, uint64_t max) {
  uint64_t v = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size() || v < min || v > max) {
    return flag_error(name, concat({"'", text, "' is not a whole number from ", std::to_string(min), " to ",
                                    std::to_string(max)}));
  }
  return v;
}

Result<double> parse_share(std::string_view name, std::string_view text) {
  double v = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size() || !(v >= 0 && v <= 1)) {
    return flag_error(name, concat({"'", text, "' is not a share from 0 to 1 (0.1 = 10 %)"}));
  }
  return v;
}

Result<int> parse_cpu(std::string_view name, std::string_view text) {
  auto n = parse_count(name, text, 0, 1023);
  if (!n.ok()) return n.error();
  return static_cast<int>(*n);
}

// A flag both commands take; false when `name` is not one of them.
Result<bool> apply_load_flag(std::string_view name, std::string_view value, LoadOptions& o,
                             bool& duration_given) {
  if (name == "lmtp") {
    auto a = app::parse_address(value, app::AllowUnix::yes);
    if (!a.ok()) return flag_error(name, a.error().message);
    if (!a->is_unix() && a->port == 0) return flag_error(name, "port 0 is not a server's port");
    o.lmtp = *a;
  } else if (name == "table") {
    if (value.empty()) return flag_error(name, "needs a file name");
    o.table = std::string(value);
  } else if (name == "to") {
    auto list = parse_address_list(value);
    if (!list.ok()) return flag_error(name, list.error().message);
    o.to = std::move(list.value());
  } else if (name == "connections") {
    auto n = parse_count(name, value, 1, 100000);
    if (!n.ok()) return n.error();
    o.connections = static_cast<uint32_t>(*n);
  } else if (name == "size") {
    auto d = parse_size_distribution(value);
    if (!d.ok()) return flag_error(name, d.error().message);
    o.size = std::move(d.value());
  } else if (name == "rcpts") {
    auto n = parse_count(name, value, 1, 100000);
    if (!n.ok()) return n.error();
    o.rcpts = static_cast<uint32_t>(*n);
  } else if (name == "unknown") {
    auto p = parse_share(name, value);
    if (!p.ok()) return p.error();
    o.unknown = *p;
  } else if (name == "duration") {
    auto d = parse_run_duration(value);
    if (!d.ok()) return flag_error(name, d.error().message);
    o.duration = *d;
    duration_given = true;
  } else if (name == "messages") {
    auto n = parse_count(name, value, 1, UINT64_MAX / 2);
    if (!n.ok()) return n.error();
    o.messages = *n;
  } else if (name == "io") {
    auto io = app::parse_io_backend(value);
    if (!io.ok()) return flag_error(name, io.error().message);
    o.io = *io;
  } else if (name == "no-overlap") {
    o.overlap = false;
  } else if (name == "seed") {
    auto n = parse_count(name, value, 0, UINT64_MAX);
    if (!n.ok()) return n.error();
    o.seed = *n;
  } else if (name == "cpu") {
    auto c = parse_cpu(name, value);
    if (!c.ok()) return c.error();
    o.cpu = *c;
  } else if (name == "json") {
    o.json = true;
  } else if (name == "plot") {
    if (value.empty()) return flag_error(name, "needs a file name");
    o.plot = std::string(value);
  } else if (name == "quiet") {
    o.quiet = true;
  } else {
    return false;
  }
  return true;
}

Result<bool> apply_e2e_flag(std::string_view name, std::string_view value, E2eOptions& o) {
  if (name == "listgate" || name == "sink") {
    if (value.empty()) return flag_error(name, "needs a file name");
    (name == "listgate" ? o.listgate : o.sink) = std::string(value);
  } else if (name == "discard") {
    o.discard = true;
  } else if (name == "lists" || name == "members") {
    auto n = parse_count(name, value, 1, 10'000'000);
    if (!n.ok()) return n.error();
    (name == "lists" ? o.lists : o.members) = static_cast<uint32_t>(*n);
  } else if (name == "listgate-cpu" || name == "sink-cpu") {
    auto c = parse_cpu(name, value);
    if (!c.ok()) return c.error();
    (name == "listgate-cpu" ? o.listgate_cpu : o.sink_cpu) = *c;
  } else if (name == "keep") {
    o.keep = true;
  } else {
    return false;
  }
  return true;
}

Result<void> check_load(const BenchArgs& a, bool duration_given, bool members_given) {
  const LoadOptions& o = a.load;
  if (duration_given && o.messages > 0) return make_error("give --duration or --messages, not both");
  if (a.command == BenchArgs::Command::load) {
    if (!o.lmtp) return make_error("load needs --lmtp HOST:PORT (the server to load)");
    if (o.table.empty() == o.to.empty()) return make_error("load needs one of --table FILE or --to ADDR[,ADDR...]");
    return {};
  }
  if (o.lmtp) return make_error("--lmtp is for `load`; e2e starts its own listgate");
  if (!o.to.empty()) return make_error("--to is for `load`; e2e sends to the lists of its table");
  if (!o.table.empty() && a.e2e.lists > 0) return make_error("give --table or --lists, not both");
  if (members_given && a.e2e.lists == 0) return make_error("--members goes with --lists");
  return {};
}

}  // namespace

std::string_view bench_usage() { return kUsage; }

Result<std::chrono::milliseconds> parse_run_duration(std::string_view text) {
  const auto bad = [&] {
    return make_error(concat({"'", text, "' is not a duration (10s, 500ms, 2m, 1.5s; 1ms to 24h)"}));
  };
  size_t unit_at = 0;
  while (unit_at < text.size() && ((text[unit_at] >= '0' && text[unit_at] <= '9') || text[unit_at] == '.')) ++unit_at;
  std::string_view number = text.substr(0, unit_at);
  std::string_view unit = text.substr(unit_at);
  double v = 0;
  auto r = std::from_chars(number.data(), number.data() + number.size(), v);
  if (number.empty() || r.ec != std::errc() || r.ptr != number.data() + number.size()) return bad();
  double ms = 0;
  if (unit.empty() || unit == "s") {
    ms = v * 1000;
  } else if (unit == "ms") {
    ms = v;
  } else if (unit == "m") {
    ms = v * 60'000;
  } else if (unit == "h") {
    ms = v * 3'600'000;
  } else {
    return bad();
  }
  if (!(ms >= 1 && ms <= 86'400'000) || ms != std::floor(ms)) return bad();
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

Result<BenchArgs> parse_bench_args(int argc, const char* const* argv) {
  BenchArgs args;
  if (argc == 0) return make_error("which command: load or e2e?");
  const std::string_view command = argv[0];
  if (command == "-h" || command == "--help" || command == "help") return args;
  if (command == "load") {
    args.command = BenchArgs::Command::load;
  } else if (command == "e2e") {
    args.command = BenchArgs::Command::e2e;
  } else {
    return make_error(concat({"unknown command '", command, "' (load or e2e)"}));
  }
  bool duration_given = false;
  bool members_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view word = argv[i];
    if (word == "-h") word = "--help";
    if (word.substr(0, 2) != "--" || word.size() == 2) return make_error(concat({"unexpected argument '", word, "'"}));
    std::string_view name = word.substr(2);
    std::string_view value;
    const size_t eq = name.find('=');
    if (eq != std::string_view::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      if (is_switch(name)) return make_error(concat({"--", name, " takes no value"}));
    } else if (!is_switch(name)) {
      if (i + 1 >= argc) return make_error(concat({"--", name, " needs a value"}));
      value = argv[++i];
    }
    if (name == "help") {
      args.command = BenchArgs::Command::help;
      return args;
    }
    auto load = apply_load_flag(name, value, args.load, duration_given);
    if (!load.ok()) return load.error();
    if (*load) continue;
    if (args.command == BenchArgs::Command::e2e) {
      auto e2e = apply_e2e_flag(name, value, args.e2e);
      if (!e2e.ok()) return e2e.error();
      members_given = members_given || name == "members";
      if (*e2e) continue;
    }
    return make_error(concat({"unknown flag --", name, args.command == BenchArgs::Command::load ? " for load" : " for e2e"}));
  }
  auto checked = check_load(args, duration_given, members_given);
  if (!checked.ok()) return checked.error();
  return args;
}

}  // namespace listgate::loadbench
