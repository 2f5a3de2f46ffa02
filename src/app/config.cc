// config.cc - gives mailman.cfg's sections and keys their meaning.
//
// ini.cc splits the text; this file knows which keys exist, what values they
// take, and which of Mailman's keys and sections are read and ignored. Every
// value is checked here, so the rest of listgate can trust a Config.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <functional>

#include "ini.h"
#include "listgate/app/config.h"
#include "text.h"
#include "verp.h"

namespace listgate::app {
namespace {

constexpr std::string_view kMtaSection = "mta";
constexpr std::string_view kListgateSection = "listgate";

// Mailman 3's [mta] keys (src/mailman/config/schema.cfg) that listgate reads
// and ignores: they configure Mailman's Python internals or features
// listgate does not have.
constexpr std::array<std::string_view, 17> kMailmanIgnoredMtaKeys{
    "outgoing",
    "configuration",
    "smtp_secure_mode",  // checked below: only "smtp" is accepted
    "smtp_verify_cert",
    "smtp_verify_hostname",
    "max_delivery_threads",
    "verp_confirm_format",
    "verp_regexp",
    "verp_confirm_regexp",
    "verp_confirmations",
    "verp_personalized_deliveries",
    "verp_delivery_interval",
    "verp_probe_format",
    "verp_probe_regexp",
    "verp_probes",
    "max_autoresponses_per_day",
    "remove_dkim_headers",
};
constexpr std::string_view kPlainSmtpMode = "smtp";

// Limits on values; beyond them a value is surely a mistake.
constexpr uint64_t kMaxConnections = 1'000'000;
constexpr uint64_t kMaxMessageSize = 1ull << 40;  // 1 TiB
constexpr uint64_t kMaxPoolSize = 4096;
constexpr uint64_t kMaxTransactionRecipients = 1'000'000;
constexpr uint64_t kMaxRecipientsPerTransaction = UINT32_MAX;
constexpr size_t kMaxHostnameLength = 253;
constexpr uint64_t kMaxConfigFileBytes = 16u << 20;
constexpr size_t kMaxSuggestionDistance = 2;

// ---------------------------------------------------------------------------
// Value parsers: each returns the value or an error saying what is wrong.

Result<std::string_view> one_line(std::string_view value) {
  value = text::trim(value);
  if (value.find('\n') != std::string_view::npos) return make_error("the value must fit on one line");
  return value;
}

Result<std::string> non_empty(std::string_view value) {
  auto v = one_line(value);
  if (!v) return v.error();
  if (v->empty()) return make_error("must not be empty");
  return std::string(*v);
}

// configparser's booleans (what lazr.config accepts), any case.
Result<bool> boolean(std::string_view value) {
  auto v = one_line(value);
  if (!v) return v.error();
  std::string lower;
  for (char ch : *v) lower += static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
  for (std::string_view yes : {"1", "yes", "true", "on"})
    if (lower == yes) return true;
  for (std::string_view no : {"0", "no", "false", "off"})
    if (lower == no) return false;
  return make_error(text::concat({"'", *v, "' is not a boolean (yes/no, true/false, on/off, 1/0)"}));
}

Result<uint64_t> whole_number(std::string_view value, uint64_t min, uint64_t max) {
  auto v = one_line(value);
  if (!v) return v.error();
  auto n = text::parse_uint(*v);
  if (!n) return make_error(text::concat({"'", *v, "' is not a whole number"}));
  if (*n < min || *n > max) {
    return make_error(std::to_string(*n) + " is out of range (" + std::to_string(min) + " to " +
                      std::to_string(max) + ")");
  }
  return *n;
}

enum class ZeroAllowed { no, yes };

Result<std::chrono::seconds> duration(std::string_view value, ZeroAllowed zero) {
  auto v = one_line(value);
  if (!v) return v.error();
  auto d = parse_duration(*v);
  if (!d) return d.error();
  if (zero == ZeroAllowed::no && d->count() == 0) return make_error("must be longer than 0s");
  return *d;
}

Result<std::string> host_name(std::string_view value) {
  auto v = non_empty(value);
  if (!v) return v.error();
  std::string_view host = *v;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || text::contains_space(host) || host.find_first_of("[]/") != std::string_view::npos) {
    return make_error(text::concat({"'", *v, "' is not a host name or address"}));
  }
  return std::string(host);
}

Result<uint16_t> port(std::string_view value) {
  auto n = whole_number(value, 1, 65535);
  if (!n) return make_error("port: " + n.error().message);
  return static_cast<uint16_t>(*n);
}

// A port to listen on: 0 lets the kernel pick one (the listening log line says which).
Result<uint16_t> listen_port(std::string_view value) {
  auto n = whole_number(value, 0, 65535);
  if (!n) return make_error("port: " + n.error().message);
  return static_cast<uint16_t>(*n);
}

// A name for the greeting: letters, digits, '-', '.', '_' or an [address literal].
Result<std::string> greeting_name(std::string_view value) {
  auto v = non_empty(value);
  if (!v) return v.error();
  const std::string& name = *v;
  bool ok = name.size() <= kMaxHostnameLength;
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
    ok = ok && !text::contains_space(name);
  } else {
    for (char c : name) {
      ok = ok && (text::is_alpha(c) || text::is_digit(c) || c == '-' || c == '.' || c == '_');
    }
  }
  if (!ok) return make_error("'" + name + "' is not a host name");
  return name;
}

// ---------------------------------------------------------------------------
// The keys listgate acts on.

using Apply = std::function<Result<void>(std::string_view value, Config& config)>;

struct KeySpec {
  std::string_view key;
  Apply apply;
};

template <class T, class Parse, class Store>
Apply make_apply(Parse parse, Store store) {
  return [parse, store](std::string_view value, Config& config) -> Result<void> {
    Result<T> r = parse(value);
    if (!r) return r.error();
    store(config, std::move(r.value()));
    return {};
  };
}

const std::vector<KeySpec>& mta_keys() {
  using std::chrono::seconds;
  static const std::vector<KeySpec> keys{
      {"lmtp_host", make_apply<std::string>(host_name, [](Config& c, std::string v) { c.mta.lmtp.host = v; })},
      {"lmtp_port", make_apply<uint16_t>(listen_port, [](Config& c, uint16_t v) { c.mta.lmtp.port = v; })},
      {"smtp_host", make_apply<std::string>(host_name, [](Config& c, std::string v) { c.mta.smtp.host = v; })},
      {"smtp_port", make_apply<uint16_t>(port, [](Config& c, uint16_t v) { c.mta.smtp.port = v; })},
      {"smtp_user", make_apply<std::string_view>(one_line,
                                                 [](Config& c, std::string_view v) { c.mta.smtp_user = v; })},
      {"smtp_pass", make_apply<std::string_view>(one_line,
                                                 [](Config& c, std::string_view v) { c.mta.smtp_pass = v; })},
      {"max_recipients",
       make_apply<uint64_t>([](std::string_view v) { return whole_number(v, 0, kMaxRecipientsPerTransaction); },
                            [](Config& c, uint64_t v) { c.mta.max_recipients = static_cast<uint32_t>(v); })},
      {"max_sessions_per_connection",
       make_apply<uint64_t>([](std::string_view v) { return whole_number(v, 0, UINT32_MAX); },
                            [](Config& c, uint64_t v) { c.mta.max_sessions_per_connection = static_cast<uint32_t>(v); })},
      {"verp_delimiter", make_apply<std::string>(
                             [](std::string_view v) -> Result<std::string> {
                               auto s = non_empty(v);
                               if (!s) return s.error();
                               if (text::contains_space(*s) || s->find('@') != std::string::npos) {
                                 return make_error("must not contain spaces or '@'");
                               }
                               return s;
                             },
                             [](Config& c, std::string v) { c.mta.verp_delimiter = v; })},
      {"verp_format", make_apply<std::string>(
                          [](std::string_view v) -> Result<std::string> {
                            auto s = non_empty(v);
                            if (!s) return s.error();
                            if (auto ok = validate_verp_format(*s); !ok) return ok.error();
                            return s;
                          },
                          [](Config& c, std::string v) { c.mta.verp_format = v; })},
      {"delivery_retry_period",
       make_apply<seconds>([](std::string_view v) { return duration(v, ZeroAllowed::no); },
                           [](Config& c, seconds v) { c.mta.delivery_retry_period = v; })},
      {"incoming", make_apply<IncomingMta>(
                       [](std::string_view v) -> Result<IncomingMta> {
                         auto s = one_line(v);
                         if (!s) return s.error();
                         return parse_incoming_mta(*s);
                       },
                       [](Config& c, IncomingMta v) { c.mta.incoming = v; })},
  };
  return keys;
}

const std::vector<KeySpec>& listgate_keys() {
  using std::chrono::seconds;
  auto count = [](uint64_t min, uint64_t max) {
    return [min, max](std::string_view v) { return whole_number(v, min, max); };
  };
  static const std::vector<KeySpec> keys{
      {"table", make_apply<std::string>(non_empty, [](Config& c, std::string v) { c.listgate.table = v; })},
      {"spool_dir", make_apply<std::string>(non_empty, [](Config& c, std::string v) { c.listgate.spool_dir = v; })},
      {"bounce_log", make_apply<std::string>(non_empty, [](Config& c, std::string v) { c.listgate.bounce_log = v; })},
      {"io", make_apply<IoBackend>(
                 [](std::string_view v) -> Result<IoBackend> {
                   auto s = one_line(v);
                   if (!s) return s.error();
                   return parse_io_backend(*s);
                 },
                 [](Config& c, IoBackend v) { c.listgate.io = v; })},
      {"metrics", make_apply<std::optional<Address>>(
                      [](std::string_view v) -> Result<std::optional<Address>> {
                        auto s = one_line(v);
                        if (!s) return s.error();
                        if (s->empty()) return std::optional<Address>();
                        auto a = parse_address(*s, AllowUnix::yes);
                        if (!a) return a.error();
                        return std::optional<Address>(std::move(*a));
                      },
                      [](Config& c, std::optional<Address> v) { c.listgate.metrics = std::move(v); })},
      {"max_connections", make_apply<uint64_t>(count(1, kMaxConnections), [](Config& c, uint64_t v) {
         c.listgate.max_connections = static_cast<uint32_t>(v);
       })},
      {"max_message_size", make_apply<uint64_t>(count(1, kMaxMessageSize),
                                                [](Config& c, uint64_t v) { c.listgate.max_message_size = v; })},
      {"idle_timeout", make_apply<seconds>([](std::string_view v) { return duration(v, ZeroAllowed::no); },
                                           [](Config& c, seconds v) { c.listgate.idle_timeout = v; })},
      {"smtp_pool_size", make_apply<uint64_t>(count(1, kMaxPoolSize), [](Config& c, uint64_t v) {
         c.listgate.smtp_pool_size = static_cast<uint32_t>(v);
       })},
      {"use_xverp", make_apply<bool>(boolean, [](Config& c, bool v) { c.listgate.use_xverp = v; })},
      {"retry_initial", make_apply<seconds>([](std::string_view v) { return duration(v, ZeroAllowed::no); },
                                            [](Config& c, seconds v) { c.listgate.retry_initial = v; })},
      {"retry_max", make_apply<seconds>([](std::string_view v) { return duration(v, ZeroAllowed::no); },
                                        [](Config& c, seconds v) { c.listgate.retry_max = v; })},
      {"postfix_map_type", make_apply<PostfixMapType>(
                               [](std::string_view v) -> Result<PostfixMapType> {
                                 auto s = one_line(v);
                                 if (!s) return s.error();
                                 return parse_postfix_map_type(*s);
                               },
                               [](Config& c, PostfixMapType v) { c.listgate.postfix_map_type = v; })},
      {"postmap_command",
       make_apply<std::string>(non_empty, [](Config& c, std::string v) { c.listgate.postmap_command = v; })},
      {"max_transaction_recipients",
       make_apply<uint64_t>(count(1, kMaxTransactionRecipients),
                            [](Config& c, uint64_t v) { c.listgate.max_transaction_recipients = static_cast<uint32_t>(v); })},
      {"drain_timeout", make_apply<seconds>([](std::string_view v) { return duration(v, ZeroAllowed::yes); },
                                            [](Config& c, seconds v) { c.listgate.drain_timeout = v; })},
      {"hostname", make_apply<std::string>(greeting_name, [](Config& c, std::string v) { c.listgate.hostname = v; })},
  };
  return keys;
}

const KeySpec* find_key(const std::vector<KeySpec>& keys, std::string_view key) {
  for (const KeySpec& spec : keys) {
    if (spec.key == key) return &spec;
  }
  return nullptr;
}

bool is_ignored_mta_key(std::string_view key) {
  return std::find(kMailmanIgnoredMtaKeys.begin(), kMailmanIgnoredMtaKeys.end(), key) != kMailmanIgnoredMtaKeys.end();
}

// ---------------------------------------------------------------------------
// Errors.

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// " (did you mean 'x'?)" for a near miss among `keys`, else "".
std::string suggestion(std::string_view key, const std::vector<KeySpec>& keys) {
  std::string_view best;
  size_t best_distance = kMaxSuggestionDistance + 1;
  for (const KeySpec& spec : keys) {
    size_t d = edit_distance(key, spec.key);
    if (d < best_distance) {
      best = spec.key;
      best_distance = d;
    }
  }
  if (best.empty()) return {};
  return text::concat({" (did you mean '", best, "'?)"});
}

Error key_error(std::string_view file, int line, std::string_view section, std::string_view key,
                std::string_view what) {
  std::string m;
  m.append(file).append(":").append(std::to_string(line)).append(": [").append(section).append("] ");
  m.append(key).append(": ").append(what);
  return make_error(std::move(m));
}

std::string unknown_mta_key(std::string_view key) {
  if (find_key(listgate_keys(), key) != nullptr) return "not an [mta] key; it belongs in [listgate]";
  return "unknown key: neither a Mailman [mta] key nor one listgate reads" + suggestion(key, mta_keys());
}

std::string unknown_listgate_key(std::string_view key) {
  if (find_key(mta_keys(), key) != nullptr || is_ignored_mta_key(key)) {
    return "not a [listgate] key; Mailman's keys belong in [mta]";
  }
  return "unknown key" + suggestion(key, listgate_keys());
}

// ---------------------------------------------------------------------------
// Sections.

Result<void> apply_section(const ini::Section& section, const std::vector<KeySpec>& keys, bool is_mta,
                           std::string_view file, Config& config, std::vector<std::string>* ignored) {
  for (const ini::Entry& entry : section.entries) {
    if (const KeySpec* spec = find_key(keys, entry.key)) {
      if (auto r = spec->apply(entry.value, config); !r) {
        return key_error(file, entry.line, section.name, entry.key, r.error().message);
      }
      continue;
    }
    if (is_mta && is_ignored_mta_key(entry.key)) {
      if (entry.key == "smtp_secure_mode" && text::to_lower(text::trim(entry.value)) != kPlainSmtpMode) {
        return key_error(file, entry.line, section.name, entry.key,
                         "listgate talks plain SMTP to smtp_host (no TLS, which would send smtp_pass in the "
                         "clear); set it to 'smtp' or remove it and point smtp_host at a local relay");
      }
      if (ignored != nullptr) ignored->push_back("[" + section.name + "] " + entry.key);
      continue;
    }
    return key_error(file, entry.line, section.name, entry.key,
                     is_mta ? unknown_mta_key(entry.key) : unknown_listgate_key(entry.key));
  }
  return {};
}

int line_of(const ini::Section* section, std::string_view key) {
  if (section == nullptr) return 0;
  for (const ini::Entry& e : section->entries) {
    if (e.key == key) return e.line;
  }
  return 0;
}

// Checks that need more than one key.
Result<void> check_together(const Config& config, const ini::Section* listgate, std::string_view file) {
  if (config.listgate.retry_max < config.listgate.retry_initial) {
    int line = line_of(listgate, "retry_max");
    std::string_view key = "retry_max";
    if (line == 0) {
      line = line_of(listgate, "retry_initial");
      key = "retry_initial";
    }
    return key_error(file, line, kListgateSection, key,
                     "retry_max (" + std::to_string(config.listgate.retry_max.count()) +
                         "s) must not be shorter than retry_initial (" +
                         std::to_string(config.listgate.retry_initial.count()) + "s)");
  }
  return {};
}

}  // namespace

std::string_view to_string(IoBackend io) {
  switch (io) {
    case IoBackend::automatic: return "auto";
    case IoBackend::uring: return "uring";
    case IoBackend::epoll: return "epoll";
  }
  return "auto";
}

std::string_view to_string(PostfixMapType type) {
  return type == PostfixMapType::regexp ? "regexp" : "hash";
}

Result<IoBackend> parse_io_backend(std::string_view text) {
  for (IoBackend io : {IoBackend::automatic, IoBackend::uring, IoBackend::epoll}) {
    if (text == to_string(io)) return io;
  }
  return make_error(text::concat({"'", text, "' is not one of auto, uring, epoll"}));
}

Result<PostfixMapType> parse_postfix_map_type(std::string_view text) {
  for (PostfixMapType t : {PostfixMapType::hash, PostfixMapType::regexp}) {
    if (text == to_string(t)) return t;
  }
  return make_error(text::concat({"'", text, "' is not one of hash, regexp"}));
}

std::string_view to_string(IncomingMta mta) {
  switch (mta) {
    case IncomingMta::exim4: return "mailman.mta.exim4.LMTP";
    case IncomingMta::null: return "mailman.mta.null.NullMTA";
    case IncomingMta::postfix: break;
  }
  return "mailman.mta.postfix.LMTP";
}

Result<IncomingMta> parse_incoming_mta(std::string_view text) {
  for (IncomingMta m : {IncomingMta::postfix, IncomingMta::exim4, IncomingMta::null}) {
    if (text == to_string(m)) return m;
  }
  return make_error(text::concat({"'", text, "' is not one of mailman.mta.postfix.LMTP, mailman.mta.exim4.LMTP, ",
                                  "mailman.mta.null.NullMTA"}));
}

std::string default_hostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

Result<Config> parse_config(std::string_view text, std::string_view file_name, std::vector<std::string>* ignored) {
  auto sections = ini::parse(text, file_name);
  if (!sections) return sections.error();

  Config config;
  const ini::Section* listgate = nullptr;
  for (const ini::Section& section : *sections) {
    if (section.name == kMtaSection) {
      if (auto r = apply_section(section, mta_keys(), true, file_name, config, ignored); !r) return r.error();
    } else if (section.name == kListgateSection) {
      listgate = &section;
      if (auto r = apply_section(section, listgate_keys(), false, file_name, config, ignored); !r) {
        return r.error();
      }
    } else if (ignored != nullptr) {
      ignored->push_back("[" + section.name + "]");
    }
  }
  if (auto r = check_together(config, listgate, file_name); !r) return r.error();
  return config;
}

Result<Config> load_config_file(const std::string& path, std::vector<std::string>* ignored) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return make_error(path + ": cannot open: " + std::strerror(errno));
  std::string text;
  char chunk[8192];
  size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof chunk, file)) > 0) {
    text.append(chunk, n);
    if (text.size() > kMaxConfigFileBytes) {
      std::fclose(file);
      return make_error(path + ": larger than " + std::to_string(kMaxConfigFileBytes >> 20) + " MiB");
    }
  }
  const bool failed = std::ferror(file) != 0;
  const int read_errno = errno;
  std::fclose(file);
  if (failed) return make_error(path + ": cannot read: " + std::strerror(read_errno));
  return parse_config(text, path, ignored);
}

}  // namespace listgate::app
