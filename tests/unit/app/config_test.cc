// config_test.cc - mailman.cfg parsing: a real file, defaults, every error.
#include "listgate/app/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <random>

namespace listgate::app {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// A mailman.cfg as an operator has it, plus a [listgate] section.
constexpr std::string_view kRealMailmanCfg = R"(# /etc/mailman3/mailman.cfg
[mailman]
site_owner: listmaster@example.org
layout: debian
pending_request_life: 3d

[paths.debian]
var_dir: /var/lib/mailman3
queue_dir: $var_dir/queue
log_dir: /var/log/mailman3

[database]
class: mailman.database.postgresql.PostgreSQLDatabase
url: postgres://mailman:secret@localhost/mailman

[webservice]
hostname: localhost
port: 8001
admin_user: restadmin

; the MTA
[mta]
incoming: mailman.mta.postfix.LMTP
outgoing: mailman.mta.deliver.deliver
lmtp_host: 127.0.0.1
lmtp_port: 8024
smtp_host = mail.example.org
smtp_port = 587
smtp_user: lists
smtp_pass: pa=ss:word
smtp_secure_mode: smtp
max_recipients: 100
verp_format: ${bounces}+${local}=${domain}
delivery_retry_period: 2d
configuration: python:mailman.config.postfix

[archiver.hyperkitty]
class: mailman_hyperkitty.Archiver
enable: yes
configuration: /etc/mailman3/mailman-hyperkitty.cfg

[logging.smtp]
path: smtp.log
every: $msgid smtp to $listname for $recip recips,
    completed in $time seconds

[digests]
mime_digest_keep_headers:
    Date From To Cc Subject Message-ID Keywords

    In-Reply-To References Content-Type MIME-Version

[listgate]
table: /srv/listgate/lists.json
io: epoll
metrics: [::1]:9200
max_connections: 2000
idle_timeout: 5m
retry_initial: 10s
retry_max: 1h
postfix_map_type: regexp
hostname: lists.example.org
drain_timeout: 0
)";

Result<Config> parse(std::string_view text, std::vector<std::string>* ignored = nullptr) {
  return parse_config(text, "test.cfg", ignored);
}

std::string error_of(std::string_view text) {
  auto r = parse(text);
  EXPECT_FALSE(r.ok()) << "expected an error for:\n" << text;
  return r.ok() ? std::string() : r.error().message;
}

TEST(Config, RealMailmanCfgParses) {
  std::vector<std::string> ignored;
  auto r = parse(kRealMailmanCfg, &ignored);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = *r;

  EXPECT_EQ(c.mta.lmtp, (Address{Address::Kind::tcp, "127.0.0.1", 8024, {}}));
  EXPECT_EQ(c.mta.smtp, (Address{Address::Kind::tcp, "mail.example.org", 587, {}}));
  EXPECT_EQ(c.mta.smtp_user, "lists");
  EXPECT_EQ(c.mta.smtp_pass, "pa=ss:word");  // the first ':' splits, the rest is value
  EXPECT_EQ(c.mta.max_recipients, 100u);
  EXPECT_EQ(c.mta.max_sessions_per_connection, 0u);
  EXPECT_EQ(c.mta.delivery_retry_period, hours(48));

  EXPECT_EQ(c.listgate.table, "/srv/listgate/lists.json");
  EXPECT_EQ(c.listgate.io, IoBackend::epoll);
  ASSERT_TRUE(c.listgate.metrics.has_value());
  EXPECT_EQ(*c.listgate.metrics, (Address{Address::Kind::tcp, "::1", 9200, {}}));
  EXPECT_EQ(c.listgate.max_connections, 2000u);
  EXPECT_EQ(c.listgate.idle_timeout, minutes(5));
  EXPECT_EQ(c.listgate.retry_initial, seconds(10));
  EXPECT_EQ(c.listgate.retry_max, hours(1));
  EXPECT_EQ(c.listgate.postfix_map_type, PostfixMapType::regexp);
  EXPECT_EQ(c.listgate.hostname, "lists.example.org");
  EXPECT_EQ(c.listgate.drain_timeout, seconds(0));
  // Untouched keys keep their defaults.
  EXPECT_EQ(c.listgate.spool_dir, "/var/spool/listgate");
  EXPECT_EQ(c.listgate.max_message_size, 52428800u);
  EXPECT_FALSE(c.discard);

  const std::vector<std::string> expected{
      "[mailman]",
      "[paths.debian]",
      "[database]",
      "[webservice]",
      "[mta] outgoing",
      "[mta] smtp_secure_mode",
      "[mta] configuration",
      "[archiver.hyperkitty]",
      "[logging.smtp]",
      "[digests]",
  };
  EXPECT_EQ(ignored, expected);
}

TEST(Config, EmptyTextGivesTheDefaults) {
  std::vector<std::string> ignored;
  auto r = parse("", &ignored);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = *r;
  EXPECT_TRUE(ignored.empty());
  EXPECT_EQ(c.mta.lmtp.to_string(), "127.0.0.1:8024");
  EXPECT_EQ(c.mta.smtp.to_string(), "localhost:25");
  EXPECT_EQ(c.mta.smtp_user, "");
  EXPECT_EQ(c.mta.smtp_pass, "");
  EXPECT_EQ(c.mta.max_recipients, 500u);
  EXPECT_EQ(c.mta.max_sessions_per_connection, 0u);
  EXPECT_EQ(c.mta.verp_delimiter, "+");
  EXPECT_EQ(c.mta.verp_format, "${bounces}+${local}=${domain}");
  EXPECT_EQ(c.mta.delivery_retry_period, hours(24 * 5));
  EXPECT_EQ(c.listgate.table, "/var/lib/listgate/lists.json");
  EXPECT_EQ(c.listgate.spool_dir, "/var/spool/listgate");
  EXPECT_EQ(c.listgate.bounce_log, "/var/log/listgate/bounces.jsonl");
  EXPECT_EQ(c.listgate.io, IoBackend::automatic);
  ASSERT_TRUE(c.listgate.metrics.has_value());
  EXPECT_EQ(c.listgate.metrics->to_string(), "127.0.0.1:9124");
  EXPECT_EQ(c.listgate.max_connections, 10000u);
  EXPECT_EQ(c.listgate.max_message_size, 52428800u);
  EXPECT_EQ(c.listgate.idle_timeout, seconds(300));
  EXPECT_EQ(c.listgate.smtp_pool_size, 16u);
  EXPECT_EQ(c.listgate.retry_initial, seconds(5));
  EXPECT_EQ(c.listgate.retry_max, minutes(15));
  EXPECT_EQ(c.listgate.postfix_map_type, PostfixMapType::hash);
  EXPECT_EQ(c.listgate.postmap_command, "/usr/sbin/postmap");
  EXPECT_EQ(c.listgate.max_transaction_recipients, 1000u);
  EXPECT_EQ(c.listgate.drain_timeout, seconds(30));
  EXPECT_EQ(c.listgate.hostname, default_hostname());
  EXPECT_FALSE(c.listgate.hostname.empty());
}

TEST(Config, DefaultHostnameIsGethostname) {
  char name[256] = {};
  ASSERT_EQ(gethostname(name, sizeof name - 1), 0);
  EXPECT_EQ(default_hostname(), name[0] ? std::string(name) : "localhost");
}

TEST(Config, EveryMailmanMtaKeyIsAccepted) {
  // All [mta] keys of Mailman 3's schema.cfg, with their default values.
  constexpr std::string_view kSchemaMta = R"([mta]
incoming: mailman.mta.postfix.LMTP
outgoing: mailman.mta.deliver.deliver
smtp_host: localhost
smtp_port: 25
smtp_user:
smtp_pass:
smtp_secure_mode: smtp
smtp_verify_cert: yes
smtp_verify_hostname: yes
lmtp_host: 127.0.0.1
lmtp_port: 8024
max_recipients: 500
max_sessions_per_connection: 0
max_delivery_threads: 0
delivery_retry_period: 5d
verp_delimiter: +
verp_format: ${bounces}+${local}=${domain}
verp_confirm_format: $address+$cookie
verp_regexp: ^(?P<bounces>[^+]+?)\+(?P<local>[^=]+)=(?P<domain>[^@]+)@.*$
verp_confirm_regexp: ^(.*<)?(?P<addr>[^+]+?)\+(?P<cookie>[^@]+)@.*$
verp_confirmations: no
verp_personalized_deliveries: no
verp_delivery_interval: 0
verp_probe_format: $bounces+$token@$domain
verp_probe_regexp: ^(?P<bounces>[^+]+?)\+(?P<token>[^@]+)@.*$
verp_probes: no
max_autoresponses_per_day: 10
remove_dkim_headers: no
configuration: python:mailman.config.postfix
)";
  std::vector<std::string> ignored;
  auto r = parse(kSchemaMta, &ignored);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(ignored.size(), 17u);
  EXPECT_EQ(ignored.front(), "[mta] outgoing");
  EXPECT_EQ(ignored.back(), "[mta] configuration");
  Config defaults;
  EXPECT_EQ(r->mta.lmtp, defaults.mta.lmtp);
  EXPECT_EQ(r->mta.smtp, defaults.mta.smtp);
  EXPECT_EQ(r->mta.delivery_retry_period, defaults.mta.delivery_retry_period);
  EXPECT_EQ(r->mta.incoming, IncomingMta::postfix);
}

TEST(Config, IncomingChoosesTheMtaFiles) {
  EXPECT_EQ(parse("[mta]\nincoming: mailman.mta.exim4.LMTP\n", nullptr)->mta.incoming, IncomingMta::exim4);
  EXPECT_EQ(parse("[mta]\nincoming: mailman.mta.null.NullMTA\n", nullptr)->mta.incoming, IncomingMta::null);
  EXPECT_EQ(parse("", nullptr)->mta.incoming, IncomingMta::postfix);
  EXPECT_EQ(error_of("[mta]\nincoming: mailman.mta.sendmail.LMTP\n"),
            "test.cfg:2: [mta] incoming: 'mailman.mta.sendmail.LMTP' is not one of mailman.mta.postfix.LMTP, "
            "mailman.mta.exim4.LMTP, mailman.mta.null.NullMTA");
}

TEST(Config, IniSyntaxLikeConfigparser) {
  auto r = parse(
      "\xEF\xBB\xBF"  // UTF-8 BOM
      "[LISTGATE]\r\n"  // section names are case-sensitive: not ours
      "[listgate]\r\n"
      "  # an indented comment\r\n"
      "TABLE = /a/b.json\r\n"  // keys are not
      "; semicolon comment\r\n"
      "spool_dir:/spool\r\n"
      "bounce_log :   /log/b.jsonl   \r\n"
      "max_message_size:\r\n"
      "    1000\r\n");  // a value on the continuation line, as int() allows
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->listgate.table, "/a/b.json");
  EXPECT_EQ(r->listgate.spool_dir, "/spool");
  EXPECT_EQ(r->listgate.bounce_log, "/log/b.jsonl");
  EXPECT_EQ(r->listgate.max_message_size, 1000u);
}

TEST(Config, EmptyMetricsTurnsTheEndpointOff) {
  auto r = parse("[listgate]\nmetrics:\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->listgate.metrics.has_value());

  r = parse("[listgate]\nmetrics = unix:/run/listgate/metrics.sock\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->listgate.metrics.has_value());
  EXPECT_TRUE(r->listgate.metrics->is_unix());
  EXPECT_EQ(r->listgate.metrics->path, "/run/listgate/metrics.sock");
}

TEST(Config, MtaHostsAndZeroMeaningUnlimited) {
  auto r = parse("[mta]\nlmtp_host: ::1\nsmtp_host: [2001:db8::25]\nmax_recipients: 0\n"
                 "max_sessions_per_connection: 7\nverp_delimiter: -\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->mta.lmtp.to_string(), "[::1]:8024");
  EXPECT_EQ(r->mta.smtp.host, "2001:db8::25");
  EXPECT_EQ(r->mta.max_recipients, 0u);
  EXPECT_EQ(r->mta.max_sessions_per_connection, 7u);
  EXPECT_EQ(r->mta.verp_delimiter, "-");
}

// ---------------------------------------------------------------------------
// Errors: each names the file and line, and the key where there is one.

TEST(ConfigErrors, UnknownListgateKey) {
  EXPECT_EQ(error_of("[listgate]\ntable: /x\nfrobnicate: 1\n"),
            "test.cfg:3: [listgate] frobnicate: unknown key");
}

TEST(ConfigErrors, UnknownListgateKeySuggestsANearMiss) {
  EXPECT_EQ(error_of("[listgate]\nidle_timout: 5s\n"),
            "test.cfg:2: [listgate] idle_timout: unknown key (did you mean 'idle_timeout'?)");
}

TEST(ConfigErrors, UnknownMtaKey) {
  EXPECT_EQ(error_of("[mta]\nlmtp_port: 8024\nfrobnicate: 1\n"),
            "test.cfg:3: [mta] frobnicate: unknown key: neither a Mailman [mta] key nor one listgate reads");
  EXPECT_EQ(error_of("[mta]\nsmtp_prot: 25\n"),
            "test.cfg:2: [mta] smtp_prot: unknown key: neither a Mailman [mta] key nor one listgate reads"
            " (did you mean 'smtp_port'?)");
}

TEST(ConfigErrors, KeyInTheWrongSection) {
  EXPECT_EQ(error_of("[mta]\ntable: /x\n"), "test.cfg:2: [mta] table: not an [mta] key; it belongs in [listgate]");
  EXPECT_EQ(error_of("[listgate]\nlmtp_port: 24\n"),
            "test.cfg:2: [listgate] lmtp_port: not a [listgate] key; Mailman's keys belong in [mta]");
  EXPECT_EQ(error_of("[listgate]\nincoming: x\n"),
            "test.cfg:2: [listgate] incoming: not a [listgate] key; Mailman's keys belong in [mta]");
}

TEST(ConfigErrors, Ports) {
  EXPECT_EQ(error_of("[mta]\nsmtp_port: 0\n"), "test.cfg:2: [mta] smtp_port: port: 0 is out of range (1 to 65535)");
  EXPECT_EQ(error_of("[mta]\nlmtp_port: 65536\n"),
            "test.cfg:2: [mta] lmtp_port: port: 65536 is out of range (0 to 65535)");
  EXPECT_EQ(error_of("[mta]\n\nsmtp_port: 65536\n"),
            "test.cfg:3: [mta] smtp_port: port: 65536 is out of range (1 to 65535)");
  EXPECT_EQ(error_of("[mta]\nsmtp_port: 25a\n"), "test.cfg:2: [mta] smtp_port: port: '25a' is not a whole number");
  EXPECT_EQ(error_of("[mta]\nsmtp_port: -1\n"), "test.cfg:2: [mta] smtp_port: port: '-1' is not a whole number");
}

TEST(ConfigErrors, Ranges) {
  EXPECT_EQ(error_of("[listgate]\nmax_connections: 0\n"),
            "test.cfg:2: [listgate] max_connections: 0 is out of range (1 to 1000000)");
  EXPECT_EQ(error_of("[listgate]\nmax_message_size: 0\n"),
            "test.cfg:2: [listgate] max_message_size: 0 is out of range (1 to 1099511627776)");
  EXPECT_EQ(error_of("[listgate]\nsmtp_pool_size: 0\n"),
            "test.cfg:2: [listgate] smtp_pool_size: 0 is out of range (1 to 4096)");
  EXPECT_EQ(error_of("[listgate]\nmax_transaction_recipients: 99999999\n"),
            "test.cfg:2: [listgate] max_transaction_recipients: 99999999 is out of range (1 to 1000000)");
  EXPECT_EQ(error_of("[mta]\nmax_recipients: 99999999999\n"),
            "test.cfg:2: [mta] max_recipients: 99999999999 is out of range (0 to 4294967295)");
  EXPECT_EQ(error_of("[listgate]\nmax_connections: 99999999999999999999999\n"),
            "test.cfg:2: [listgate] max_connections: '99999999999999999999999' is not a whole number");
}

TEST(ConfigErrors, Enums) {
  EXPECT_EQ(error_of("[listgate]\nio: kqueue\n"), "test.cfg:2: [listgate] io: 'kqueue' is not one of auto, uring, epoll");
  EXPECT_EQ(error_of("[listgate]\npostfix_map_type: lmdb\n"),
            "test.cfg:2: [listgate] postfix_map_type: 'lmdb' is not one of hash, regexp");
}

TEST(ConfigErrors, Durations) {
  EXPECT_EQ(error_of("[listgate]\nidle_timeout: 0s\n"), "test.cfg:2: [listgate] idle_timeout: must be longer than 0s");
  EXPECT_EQ(error_of("[listgate]\nretry_initial: soon\n"),
            "test.cfg:2: [listgate] retry_initial: 'soon' is not a duration (expected a number; write a number with s, m, "
            "h, d or w, like 30s, 15m, 1h30m, 5d)");
  EXPECT_EQ(error_of("[mta]\ndelivery_retry_period: 0\n"),
            "test.cfg:2: [mta] delivery_retry_period: must be longer than 0s");
}

TEST(ConfigErrors, RetryMaxBelowRetryInitial) {
  EXPECT_EQ(error_of("[listgate]\nretry_initial: 1h\nretry_max: 10m\n"),
            "test.cfg:3: [listgate] retry_max: retry_max (600s) must not be shorter than retry_initial (3600s)");
  // Only retry_initial given: the error points at it.
  EXPECT_EQ(error_of("[listgate]\n\nretry_initial: 1h\n"),
            "test.cfg:3: [listgate] retry_initial: retry_max (900s) must not be shorter than retry_initial (3600s)");
}

TEST(ConfigErrors, EmptyAndMultiLineValues) {
  EXPECT_EQ(error_of("[listgate]\ntable:\n"), "test.cfg:2: [listgate] table: must not be empty");
  EXPECT_EQ(error_of("[listgate]\npostmap_command =\n"), "test.cfg:2: [listgate] postmap_command: must not be empty");
  EXPECT_EQ(error_of("[mta]\nsmtp_host:\n"), "test.cfg:2: [mta] smtp_host: must not be empty");
  EXPECT_EQ(error_of("[listgate]\ntable: /a\n  /b\n"), "test.cfg:2: [listgate] table: the value must fit on one line");
}

TEST(ConfigErrors, Addresses) {
  EXPECT_EQ(error_of("[listgate]\nmetrics: 127.0.0.1\n"),
            "test.cfg:2: [listgate] metrics: '127.0.0.1': expected HOST:PORT");
  EXPECT_EQ(error_of("[listgate]\nmetrics: ::1:9124\n"),
            "test.cfg:2: [listgate] metrics: '::1:9124': an IPv6 address needs brackets, like [::1]:PORT");
  EXPECT_EQ(error_of("[mta]\nlmtp_host: two words\n"), "test.cfg:2: [mta] lmtp_host: 'two words' is not a host name or address");
}

TEST(ConfigErrors, HostnameAndVerp) {
  EXPECT_EQ(error_of("[listgate]\nhostname: bad host\n"), "test.cfg:2: [listgate] hostname: 'bad host' is not a host name");
  EXPECT_EQ(error_of("[mta]\nverp_format: $bounces+$local\n"),
            "test.cfg:2: [mta] verp_format: must contain $domain");
  EXPECT_EQ(error_of("[mta]\nverp_format: $bounces+$user=$domain\n"),
            "test.cfg:2: [mta] verp_format: unknown placeholder $user (use $bounces, $local and $domain)");
  EXPECT_EQ(error_of("[mta]\nverp_format: ${bounces}+${local}=${domain}@x\n"),
            "test.cfg:2: [mta] verp_format: must not contain '@' (it makes the local part; the list's domain is "
            "added)");
  EXPECT_EQ(error_of("[mta]\nverp_delimiter: a b\n"), "test.cfg:2: [mta] verp_delimiter: must not contain spaces or '@'");
}

TEST(ConfigErrors, TlsToTheUpstreamIsRefusedNotIgnored) {
  std::string e = error_of("[mta]\nsmtp_secure_mode: starttls\n");
  EXPECT_EQ(e.rfind("test.cfg:2: [mta] smtp_secure_mode: listgate talks plain SMTP", 0), 0u) << e;
  EXPECT_TRUE(parse("[mta]\nsmtp_secure_mode: SMTP\n").ok());
}

TEST(ConfigErrors, Syntax) {
  EXPECT_EQ(error_of("table: /x\n"), "test.cfg:1: key 'table' comes before any [section]");
  EXPECT_EQ(error_of("[listgate]\njust words\n"),
            "test.cfg:2: expected '[section]', 'key: value' or 'key = value', got 'just words'");
  EXPECT_EQ(error_of("[listgate\n"), "test.cfg:1: section header without ']'");
  EXPECT_EQ(error_of("# c\n[]\n"), "test.cfg:2: empty section name '[]'");
  EXPECT_EQ(error_of("[mta] x\n"), "test.cfg:1: [mta]: unexpected text after the section header");
  EXPECT_EQ(error_of("[listgate]\n: value\n"), "test.cfg:2: a value without a key");
}

TEST(ConfigErrors, Repeats) {
  EXPECT_EQ(error_of("[listgate]\ntable: /a\nTable: /b\n"),
            "test.cfg:3: [listgate] table: key repeated (first at line 2)");
  EXPECT_EQ(error_of("[mta]\n[database]\n[mta]\n"), "test.cfg:3: [mta]: section repeated (first at line 1)");
}

TEST(ConfigErrors, UnreadableFile) {
  auto r = load_config_file("/nonexistent/listgate.cfg", nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "/nonexistent/listgate.cfg: cannot open: No such file or directory");
}

TEST(ConfigErrors, RandomTextIsParsedOrRefusedWithALocation) {
  std::mt19937 rng(11);
  const std::vector<std::string> pieces{"[mta]", "[listgate]", "[x]", "\n", "  ", ":", "=", "#", ";", "lmtp_port",
                                        "table", "io", "epoll", "5d", "80", "[", "]", "\r\n", "metrics", "unix:/s"};
  for (int i = 0; i < 5000; ++i) {
    std::string text;
    const size_t n = rng() % 30;
    for (size_t k = 0; k < n; ++k) text += pieces[rng() % pieces.size()];
    auto r = parse(text);
    if (!r.ok()) {
      EXPECT_EQ(r.error().message.rfind("test.cfg:", 0), 0u) << r.error().message;
    }
  }
}

// ---------------------------------------------------------------------------
// Files and flags.

class TempFile {
 public:
  explicit TempFile(std::string_view text) {
    char name[] = "/tmp/listgate_config_test_XXXXXX";
    int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    path_ = name;
    EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ConfigFile, LoadsAndNamesTheFileInErrors) {
  TempFile good("[mta]\nlmtp_port: 9024\n");
  auto r = load_config_file(good.path(), nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->mta.lmtp.port, 9024);

  TempFile bad("[mta]\n\nlmtp_port: x\n");
  r = load_config_file(bad.path(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, bad.path() + ":3: [mta] lmtp_port: port: 'x' is not a whole number");
}

Result<ServeOptions> args(std::vector<const char*> words) {
  return parse_serve_args(static_cast<int>(words.size()), words.data());
}

TEST(ServeFlags, Parse) {
  auto r = args({"-c", "/etc/mailman3/mailman.cfg", "--lmtp", "unix:/run/listgate/lmtp.sock", "--smtp=[::1]:2525",
                 "--table", "/t.json", "--io=uring", "--discard"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->config_file, "/etc/mailman3/mailman.cfg");
  ASSERT_TRUE(r->lmtp.has_value());
  EXPECT_TRUE(r->lmtp->is_unix());
  EXPECT_EQ(r->lmtp->path, "/run/listgate/lmtp.sock");
  ASSERT_TRUE(r->smtp.has_value());
  EXPECT_EQ(r->smtp->host, "::1");
  EXPECT_EQ(r->smtp->port, 2525);
  EXPECT_EQ(r->table, "/t.json");
  EXPECT_EQ(r->io, IoBackend::uring);
  EXPECT_TRUE(r->discard);
  EXPECT_FALSE(r->help);

  r = args({});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->config_file || r->lmtp || r->smtp || r->table || r->io || r->discard || r->help);

  r = args({"--config", "a.cfg", "-c", "b.cfg", "-h"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->config_file, "b.cfg");  // the last one wins
  EXPECT_TRUE(r->help);
}

TEST(ServeFlags, Errors) {
  auto message = [](std::vector<const char*> words) {
    auto r = args(std::move(words));
    return r.ok() ? std::string("(ok)") : r.error().message;
  };
  EXPECT_EQ(message({"--frob"}), "unknown flag '--frob'");
  EXPECT_EQ(message({"--frob=1"}), "unknown flag '--frob'");
  EXPECT_EQ(message({"-x"}), "unknown flag '-x'");
  EXPECT_EQ(message({"extra"}), "unexpected argument 'extra' (serve takes only flags)");
  EXPECT_EQ(message({"--lmtp"}), "--lmtp: needs a value");
  EXPECT_EQ(message({"-c"}), "-c: needs a value");
  EXPECT_EQ(message({"--table="}), "--table: needs a file name");
  EXPECT_EQ(message({"--discard=yes"}), "--discard: takes no value");
  EXPECT_EQ(message({"--io", "poll"}), "--io: 'poll' is not one of auto, uring, epoll");
  EXPECT_EQ(message({"--smtp", "unix:/x"}), "--smtp: 'unix:/x': a Unix socket is not allowed here; use HOST:PORT");
  EXPECT_EQ(message({"--lmtp", "localhost"}), "--lmtp: 'localhost': expected HOST:PORT");
  EXPECT_EQ(message({"--lmtp", "localhost:99999"}), "--lmtp: 'localhost:99999': port '99999' is not a number from 0 to 65535");
  EXPECT_EQ(message({"--smtp", "localhost:0"}), "--smtp: port 0 cannot be connected to");
  EXPECT_EQ(message({"--lmtp", "127.0.0.1:0"}), "(ok)");  // listening on 0: the kernel picks
}

TEST(Config, ListenPortZeroLetsTheKernelPick) {
  auto r = parse("[mta]\nlmtp_port: 0\n[listgate]\nmetrics = 127.0.0.1:0\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->mta.lmtp.port, 0);
  ASSERT_TRUE(r->listgate.metrics.has_value());
  EXPECT_EQ(r->listgate.metrics->port, 0);
}

TEST(ServeFlags, OverrideTheFile) {
  TempFile file(
      "[mta]\nlmtp_host: 10.0.0.1\nlmtp_port: 24\nsmtp_host: relay\nsmtp_port: 2525\n"
      "[listgate]\ntable: /from/file.json\nio: epoll\nspool_dir: /from/file/spool\n");
  auto options = args({"-c", file.path().c_str(), "--lmtp", "unix:/run/l.sock", "--table", "/from/flag.json", "--discard"});
  ASSERT_TRUE(options.ok());
  auto r = load_serve_config(*options, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->mta.lmtp.to_string(), "unix:/run/l.sock");  // flag
  EXPECT_EQ(r->mta.smtp.to_string(), "relay:2525");         // file
  EXPECT_EQ(r->listgate.table, "/from/flag.json");           // flag
  EXPECT_EQ(r->listgate.io, IoBackend::epoll);               // file
  EXPECT_EQ(r->listgate.spool_dir, "/from/file/spool");      // file
  EXPECT_TRUE(r->discard);

  options = args({"-c", file.path().c_str(), "--smtp", "127.0.0.1:25", "--io", "auto"});
  ASSERT_TRUE(options.ok());
  r = load_serve_config(*options, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->mta.lmtp.to_string(), "10.0.0.1:24");
  EXPECT_EQ(r->mta.smtp.to_string(), "127.0.0.1:25");
  EXPECT_EQ(r->listgate.io, IoBackend::automatic);
  EXPECT_FALSE(r->discard);
}

TEST(ServeFlags, WithoutAFileTheDefaultsApply) {
  auto options = args({"--smtp", "mx:26"});
  ASSERT_TRUE(options.ok());
  auto r = load_serve_config(*options, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->mta.lmtp.to_string(), "127.0.0.1:8024");
  EXPECT_EQ(r->mta.smtp.to_string(), "mx:26");
  EXPECT_EQ(r->listgate.table, "/var/lib/listgate/lists.json");

  options = args({"-c", "/nonexistent.cfg"});
  ASSERT_TRUE(options.ok());
  r = load_serve_config(*options, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "/nonexistent.cfg: cannot open: No such file or directory");
}

TEST(ServeFlags, UsageNamesEveryFlag) {
  for (std::string_view flag : {"-c FILE", "--lmtp", "--smtp", "--table", "--io", "--discard", "--help"}) {
    EXPECT_NE(serve_usage().find(flag), std::string_view::npos) << flag;
  }
}

// ---------------------------------------------------------------------------
// VERP.

TEST(Verp, ExpandsMailmansFormat) {
  EXPECT_EQ(expand_verp_format("${bounces}+${local}=${domain}", "announce-bounces", "alice", "example.com"),
            "announce-bounces+alice=example.com");
  EXPECT_EQ(expand_verp_format("$bounces+$local=$domain", "b", "l", "d"), "b+l=d");
  EXPECT_EQ(expand_verp_format("$$$bounces-$local.$domain", "b", "l", "d"), "$b-l.d");
}

}  // namespace
}  // namespace listgate::app
