// options.cc - parsing listgate-sink's flags (see options.h).
#include "options.h"

#include <charconv>

#include "listgate/base/concat.h"

namespace listgate::sink {
namespace {

constexpr std::string_view kUsage =
    "usage: listgate-sink [flags]\n"
    "  --listen HOST:PORT      SMTP address (default 127.0.0.1:2525; port 0 picks one)\n"
    "  --control HOST:PORT     control interface (default off; port 0 picks one)\n"
    "  --io auto|uring|epoll   reactor backend (default auto)\n"
    "  --size N                SIZE limit in bytes, 0 = none (default 52428800)\n"
    "  --max-rcpt N            RCPTs per transaction, beyond: 452 4.5.3 (default 0 = no limit)\n"
    "  --xverp                 advertise and accept XVERP\n"
    "  --no-chunking           do not advertise CHUNKING; BDAT is then an unknown command\n"
    "  --auth USER:PASS        advertise AUTH PLAIN LOGIN and require it before MAIL\n"
    "  --rcpt-temp-fail P      probability of 450 4.2.1 per RCPT\n"
    "  --rcpt-perm-fail P      probability of 550 5.1.1 per RCPT\n"
    "  --fail-rcpt SUB=CODE    RCPTs containing SUB get CODE (400-599); repeatable\n"
    "  --data-temp-fail P      probability of 451 4.3.0 after the final dot or LAST chunk\n"
    "  --data-perm-fail P      probability of 554 5.6.0 after the final dot or LAST chunk\n"
    "  --drop-mid-data P       probability of closing mid-body (DATA or BDAT) without a reply\n"
    "  --delay-ms N            delay every reply by N ms\n"
    "  --seed N                seed of the random faults (default 1)\n"
    "  --record FILE           append MESSAGE_ID RCPT MAIL_FROM BODY_BYTES per accepted recipient\n"
    "  --keep-last             keep the last accepted body for the control command `last`\n"
    "  -h, --help              this text\n";

constexpr std::string_view kFaultFlags[] = {"rcpt-temp-fail", "rcpt-perm-fail", "fail-rcpt", "data-temp-fail",
                                            "data-perm-fail", "drop-mid-data",  "delay-ms"};

Result<uint64_t> parse_number(std::string_view flag, std::string_view text, uint64_t max) {
  uint64_t v = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size() || v > max) {
    return make_error(concat({"--", flag, ": '", text, "' is not a number from 0 to ", std::to_string(max)}));
  }
  return v;
}

bool takes_value(std::string_view name) {
  return name != "xverp" && name != "no-chunking" && name != "keep-last" && name != "help";
}

}  // namespace

std::string_view sink_usage() { return kUsage; }

Result<SinkArgs> parse_sink_args(int argc, const char* const* argv) {
  SinkArgs args;
  FaultEngine engine;
  for (int i = 0; i < argc; ++i) {
    std::string_view word = argv[i];
    if (word == "-h") word = "--help";
    if (word.substr(0, 2) != "--") return make_error(concat({"unexpected argument '", word, "'"}));
    std::string_view name = word.substr(2);
    std::string_view value;
    bool has_value = false;
    if (const size_t eq = name.find('='); eq != std::string_view::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (takes_value(name) && !has_value) {
      if (i + 1 >= argc) return make_error(concat({"--", name, " needs a value"}));
      value = argv[++i];
    } else if (!takes_value(name) && has_value) {
      return make_error(concat({"--", name, " takes no value"}));
    }

    bool fault = false;
    for (std::string_view f : kFaultFlags) fault = fault || name == f;
    if (fault) {
      auto set = engine.set(name, value);
      if (!set.ok()) return make_error(concat({"--", set.error().message}));
    } else if (name == "listen" || name == "control") {
      auto a = app::parse_address(value, app::AllowUnix::no);
      if (!a.ok()) return make_error(concat({"--", name, ": ", a.error().message}));
      if (name == "listen") {
        args.listen = a.value();
      } else {
        args.control = a.value();
      }
    } else if (name == "io") {
      auto io = app::parse_io_backend(value);
      if (!io.ok()) return make_error(concat({"--io: ", io.error().message}));
      args.io = io.value();
    } else if (name == "size") {
      auto n = parse_number(name, value, UINT64_MAX);
      if (!n.ok()) return n.error();
      args.session.max_message_size = n.value();
    } else if (name == "max-rcpt") {
      auto n = parse_number(name, value, UINT32_MAX);
      if (!n.ok()) return n.error();
      args.session.max_recipients = static_cast<uint32_t>(n.value());
    } else if (name == "seed") {
      auto n = parse_number(name, value, UINT64_MAX);
      if (!n.ok()) return n.error();
      args.seed = n.value();
    } else if (name == "auth") {
      const size_t colon = value.find(':');
      if (colon == std::string_view::npos || colon == 0) return make_error("--auth: expected USER:PASS");
      args.session.auth = Credentials{std::string(value.substr(0, colon)), std::string(value.substr(colon + 1))};
    } else if (name == "record") {
      if (value.empty()) return make_error("--record needs a file name");
      args.record_file = std::string(value);
    } else if (name == "xverp") {
      args.session.xverp = true;
    } else if (name == "no-chunking") {
      args.session.chunking = false;
    } else if (name == "keep-last") {
      args.session.keep_body = true;
    } else if (name == "help") {
      args.help = true;
    } else {
      return make_error(concat({"unknown flag --", name}));
    }
  }
  args.faults = engine.faults();
  args.session.track_envelope = !args.record_file.empty();
  return args;
}

}  // namespace listgate::sink
