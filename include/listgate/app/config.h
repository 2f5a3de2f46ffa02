// config.h - listgate's configuration: the file, the defaults, the flags.
//
// The file is a Mailman 3 `mailman.cfg` (configparser INI as lazr.config
// reads it). `[mta]` honours Mailman's keys with Mailman's meanings, so an
// operator can reuse their section; Mailman's other [mta] keys and every
// other Mailman section are read and reported as ignored. listgate's own
// keys live in `[listgate]`. Flags of `listgate serve` override the file.
// README.md ("Configuration") is the reference of every key and flag; keep it in step.
//
// Everything returns Result: errors read `FILE:LINE: [section] key: what`.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "listgate/base/result.h"

namespace listgate::app {

// ---------------------------------------------------------------------------
// Addresses: `HOST:PORT`, `[IPV6]:PORT`, `unix:/path`.

struct Address {
  enum class Kind { tcp, unix_socket };
  Kind kind = Kind::tcp;
  std::string host;   // tcp: name or IP literal, without brackets
  uint16_t port = 0;  // tcp: 1-65535
  std::string path;   // unix_socket: file system path

  bool is_unix() const { return kind == Kind::unix_socket; }
  // Back to text: "host:port", "[::1]:port" or "unix:/path".
  std::string to_string() const;
  friend bool operator==(const Address&, const Address&) = default;
};

enum class AllowUnix { no, yes };

// Parses an address as written on the command line or in `metrics`.
// Errors say what is wrong without a location; callers add it.
Result<Address> parse_address(std::string_view text, AllowUnix allow_unix);

// ---------------------------------------------------------------------------
// Durations: `30s`, `15m`, `1h30m`, `5d`, `2w` (units in that order, each at
// most once, as lazr.config writes them; decimals like `1.5h` allowed when
// the total is a whole number of seconds); a bare number is seconds.
Result<std::chrono::seconds> parse_duration(std::string_view text);

// ---------------------------------------------------------------------------
// Enumerations.

enum class IoBackend { automatic, uring, epoll };
enum class PostfixMapType { hash, regexp };
// Mailman's [mta] `incoming`: which MTA's files `listgate aliases` and a
// reload write. postfix: the Postfix maps and the Exim files; exim4: the
// Exim files only (no postmap); null: none.
enum class IncomingMta { postfix, exim4, null };

std::string_view to_string(IoBackend io);              // "auto", "uring", "epoll"
std::string_view to_string(PostfixMapType type);       // "hash", "regexp"
Result<IoBackend> parse_io_backend(std::string_view text);
Result<PostfixMapType> parse_postfix_map_type(std::string_view text);
// Mailman's class names: "mailman.mta.postfix.LMTP", "mailman.mta.exim4.LMTP",
// "mailman.mta.null.NullMTA".
std::string_view to_string(IncomingMta mta);
Result<IncomingMta> parse_incoming_mta(std::string_view text);

// ---------------------------------------------------------------------------
// The configuration.

// Mailman's [mta] keys that listgate acts on, with Mailman's defaults.
struct MtaConfig {
  // LMTP listen address: lmtp_host + lmtp_port, or --lmtp.
  Address lmtp{Address::Kind::tcp, "127.0.0.1", 8024, {}};
  // Outbound SMTP server: smtp_host + smtp_port, or --smtp.
  Address smtp{Address::Kind::tcp, "localhost", 25, {}};
  // As in Mailman: AUTH is used only when both are non-empty.
  std::string smtp_user;
  std::string smtp_pass;
  // RCPTs per outbound transaction; 0 = all recipients in one transaction.
  uint32_t max_recipients = 500;
  // Transactions per outbound connection; 0 = unlimited.
  uint32_t max_sessions_per_connection = 0;
  std::string verp_delimiter = "+";
  // Python string.Template with $bounces, $local and $domain.
  std::string verp_format = "${bounces}+${local}=${domain}";
  std::chrono::seconds delivery_retry_period = std::chrono::hours(24 * 5);
  IncomingMta incoming = IncomingMta::postfix;
};

// The machine's name (gethostname), or "localhost" when it has none.
std::string default_hostname();

// listgate's own keys, [listgate].
struct ListgateConfig {
  std::string table = "/var/lib/listgate/lists.json";
  std::string spool_dir = "/var/spool/listgate";
  std::string bounce_log = "/var/log/listgate/bounces.jsonl";
  IoBackend io = IoBackend::automatic;
  // Prometheus endpoint; nullopt = off (`metrics:` left empty).
  std::optional<Address> metrics = Address{Address::Kind::tcp, "127.0.0.1", 9124, {}};
  uint32_t max_connections = 10000;
  uint64_t max_message_size = 52428800;
  std::chrono::seconds idle_timeout{300};
  uint32_t smtp_pool_size = 16;
  // VERP lists: when smtp_host offers XVERP, one transaction per chunk of
  // max_recipients with XVERP (the MTA makes the per-member senders)
  // instead of one transaction per member.
  bool use_xverp = false;
  std::chrono::seconds retry_initial{5};
  std::chrono::seconds retry_max{15 * 60};
  PostfixMapType postfix_map_type = PostfixMapType::hash;
  std::string postmap_command = "/usr/sbin/postmap";
  uint32_t max_transaction_recipients = 1000;
  std::chrono::seconds drain_timeout{30};
  // Name in the 220 greeting and the LHLO reply; default: gethostname().
  std::string hostname = default_hostname();
};

struct Config {
  MtaConfig mta;
  ListgateConfig listgate;
  // --discard: answer as if delivered and drop the mail (no delivery, no
  // spool, no bounce log). Only a flag, never a file key.
  bool discard = false;
};

// Parses the text of a config file. `file_name` is used in errors only.
// Entries that are read but ignored ("[mta] incoming", "[database]", one per
// Mailman [mta] key and one per other section) are appended to `ignored` when
// it is not null, in file order, for the caller to log.
Result<Config> parse_config(std::string_view text, std::string_view file_name,
                            std::vector<std::string>* ignored);

// Reads and parses a file; an unreadable file is an error naming it.
Result<Config> load_config_file(const std::string& path, std::vector<std::string>* ignored);

// ---------------------------------------------------------------------------
// `listgate serve` flags.

struct ServeOptions {
  std::optional<std::string> config_file;  // -c FILE, --config FILE
  std::optional<Address> lmtp;             // --lmtp HOST:PORT|unix:PATH
  std::optional<Address> smtp;             // --smtp HOST:PORT
  std::optional<std::string> table;        // --table FILE
  std::optional<IoBackend> io;             // --io auto|uring|epoll
  bool discard = false;                    // --discard
  bool help = false;                       // -h, --help
};

// The usage text of `listgate serve` (for -h and after a flag error).
std::string_view serve_usage();

// Parses the words after `serve`: call it as parse_serve_args(argc - 2,
// argv + 2) from main. Both `--flag VALUE` and `--flag=VALUE` work; a flag
// given twice takes its last value.
Result<ServeOptions> parse_serve_args(int argc, const char* const* argv);

// Puts the flags given over `config` (flags override the file).
void apply_serve_options(const ServeOptions& options, Config& config);

// The whole start-up path: the file named by -c (or the defaults without
// -c), then the flags over it.
Result<Config> load_serve_config(const ServeOptions& options, std::vector<std::string>* ignored);

// ---------------------------------------------------------------------------
// VERP.

// Fills Mailman's verp_format: $bounces / ${bounces}, $local, $domain, and
// $$ for a dollar. The format was validated when the config was read.
std::string expand_verp_format(std::string_view format, std::string_view bounces,
                               std::string_view local, std::string_view domain);

}  // namespace listgate::app
