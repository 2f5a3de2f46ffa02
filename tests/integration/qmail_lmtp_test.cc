// qmail-lmtp as qmail-local runs it (qmail's environment, the message on
// stdin, exit code and one line on stdout) against a real listgate process:
// 0 for a list address (relayed on to listgate-sink), 100 for an unknown
// address (550 at RCPT), 111 when nothing listens, when listgate answers
// 4xx, and when the server never answers.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"

namespace listgate::testing {
namespace {

std::string qmail_lmtp_binary() {
  const char* bin = std::getenv("QMAIL_LMTP_BIN");
  return bin ? bin : "qmail-lmtp";
}

struct QmailRun {
  std::optional<int> exit;  // nullopt: killed after the timeout
  std::string out;          // stdout and stderr
  std::chrono::milliseconds took{0};
};

// Runs qmail-lmtp with `args`, exactly the environment `env` (as qmail-local
// gives it), and `message` on stdin from a file (as qmail-local does).
QmailRun run_qmail_lmtp(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                   const std::string& message, std::chrono::milliseconds timeout = 20s) {
  QmailRun run;
  TempDir dir;
  dir.write("message", message);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return run;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, dir.file("message").c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  std::vector<std::string> argv = {qmail_lmtp_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::vector<std::string> envs;
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<char*> cenv;
  for (std::string& e : envs) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  auto start = std::chrono::steady_clock::now();
  pid_t pid = -1;
  if (posix_spawn(&pid, cargv[0], &actions, nullptr, cargv.data(), cenv.data()) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  auto deadline = start + timeout;
  char buf[4096];
  while (pid > 0 && std::chrono::steady_clock::now() < deadline) {
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    run.out.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  if (pid <= 0) return run;
  int status = 0;
  for (;;) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      run.exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  run.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  return run;
}

// What qmail-local sets when it delivers LOCAL@HOST through
// "lists.example.org:listgate" in control/virtualdomains (README.md, "qmail"):
// the namespace prefix "listgate-", dropped by STRIP 1.
std::map<std::string, std::string> qmail_env(const std::string& list_local, const std::string& sender) {
  std::string local = "listgate-" + list_local;
  return {{"SENDER", sender},
          {"NEWSENDER", sender},
          {"RECIPIENT", local + "@lists.example.org"},
          {"LOCAL", local},
          {"HOST", "lists.example.org"},
          {"USER", "listgate"},
          {"HOME", "/var/lib/listgate"},
          {"EXT", list_local},
          {"DTLINE", "Delivered-To: " + local + "@lists.example.org\n"},
          {"RPLINE", "Return-Path: <" + sender + ">\n"},
          {"PATH", "/usr/bin:/bin"}};
}

// A message as qmail hands it to programs: LF line ends; lines that need
// dot-stuffing on the wire.
std::string qmail_message(const std::string& message_id) {
  return "From: alice@example.com\n"
         "To: announce@lists.example.org\n"
         "Subject: through qmail-lmtp\n"
         "Message-ID: " + message_id + "\n"
         "\n"
         "First line.\n"
         ".leading dot\n"
         "..two dots\n"
         ".\n"
         "Last line.\n";
}

// A TCP port of 127.0.0.1 that nothing listens on (bound, then closed).
uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

std::vector<ListSpec> lists(uint16_t backend_port = 0) {
  std::vector<ListSpec> l = {
      {"announce@lists.example.org", {"m1@example.com", "m2@example.net"}, {"boss@example.org"}, false, ""}};
  if (backend_port != 0) {
    l.push_back({"legacy@lists.example.org", {}, {}, false, "lmtp:[127.0.0.1]:" + std::to_string(backend_port)});
  }
  return l;
}

// listgate with these lists, delivering nothing (--discard).
GatewayOptions discard_options(const std::vector<ListSpec>& l) {
  GatewayOptions o;
  o.table_json = table_json(l);
  return o;
}

TEST(QmailLmtp, ListAddressIsDeliveredExit0) {
  Sink sink;
  ASSERT_TRUE(sink.started()) << sink.process().log();
  GatewayOptions o;
  o.discard = false;
  o.smtp_port = sink.smtp_port();
  o.table_json = table_json(lists());
  Gateway g(o);
  ASSERT_TRUE(g.started()) << g.process().log();

  const std::string id = "<qmail-1@example.com>";
  QmailRun r = run_qmail_lmtp({std::to_string(g.lmtp_port()), "1"}, qmail_env("announce", "alice@example.com"),
                         qmail_message(id));
  ASSERT_EQ(r.exit, 0) << r.out << g.process().log();
  EXPECT_TRUE(r.out.starts_with("qmail-lmtp: delivered <announce@lists.example.org> to 127.0.0.1:" +
                                std::to_string(g.lmtp_port()) + ": 250 2.0.0"))
      << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;

  // listgate relayed it to both members, with the list's bounces address as sender.
  auto rec = sink.record();
  EXPECT_EQ(rec.size(), 2u);
  EXPECT_EQ(count_records(rec, id, "m1@example.com"), 1u);
  EXPECT_EQ(count_records(rec, id, "m2@example.net"), 1u);
  for (const RecordLine& l : rec) EXPECT_EQ(l.mail_from, "announce-bounces@lists.example.org");
  // The body arrived as qmail had it, in CRLF lines, dots intact.
  auto last = sink.last();
  ASSERT_TRUE(last);
  const std::string body = "\r\n\r\nFirst line.\r\n.leading dot\r\n..two dots\r\n.\r\nLast line.\r\n";
  EXPECT_TRUE(last->ends_with(body)) << *last;
  EXPECT_NE(last->find("Subject: through qmail-lmtp\r\n"), std::string::npos) << *last;
}

// The fenced README.md block that starts with `prefix`: its first line.
std::string readme_block_line(const std::string& prefix) {
  const char* path = std::getenv("LISTGATE_README");
  std::ifstream in(path ? path : "README.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string needle = "\n```\n" + prefix;
  size_t at = text.str().find(needle);
  if (at == std::string::npos) return "";
  size_t start = at + 5;
  size_t end = text.str().find('\n', start);
  return text.str().substr(start, end - start);
}

TEST(QmailLmtp, ReadmeSetUpDeliversExit0) {
  // README.md's "qmail" lines, as printed there: the virtualdomains entry
  // and the .qmail-default line (with listgate's port for 8024).
  const std::string vd = readme_block_line("lists.example.org:");
  const std::string dot_qmail = readme_block_line("|/usr/local/bin/qmail-lmtp ");
  ASSERT_EQ(vd, "lists.example.org:listgate") << "README.md has no virtualdomains block";
  ASSERT_EQ(dot_qmail, "|/usr/local/bin/qmail-lmtp 8024 1") << "README.md has no .qmail-default block";
  Gateway g(discard_options(lists()));
  ASSERT_TRUE(g.started()) << g.process().log();
  std::vector<std::string> args;
  std::istringstream words(dot_qmail.substr(dot_qmail.find(' ') + 1));
  for (std::string w; words >> w;) args.push_back(w == "8024" ? std::to_string(g.lmtp_port()) : w);
  // qmail-local's environment for announce@ through "lists.example.org:listgate".
  QmailRun r = run_qmail_lmtp(args, qmail_env("announce", "alice@example.com"), qmail_message("<qmail-7@example.com>"));
  EXPECT_EQ(r.exit, 0) << r.out << g.process().log();
}

TEST(QmailLmtp, BounceWithNullSenderAndRecipientOnlyExit0) {
  Gateway g(discard_options(lists()));
  ASSERT_TRUE(g.started()) << g.process().log();
  // Only $RECIPIENT (no $LOCAL/$HOST), qmail's double-bounce sender, a VERP'd bounces address.
  std::map<std::string, std::string> env = {
      {"SENDER", "#@[]"}, {"RECIPIENT", "listgate-announce-bounces+m1=example.com@lists.example.org"}};
  QmailRun r = run_qmail_lmtp({std::to_string(g.lmtp_port()), "1", "localhost"}, env,
                         "From: MAILER-DAEMON@example.com\nSubject: failure notice\n\nm1@example.com: no.\n");
  EXPECT_EQ(r.exit, 0) << r.out << g.process().log();
  EXPECT_NE(r.out.find("delivered <announce-bounces+m1=example.com@lists.example.org>"), std::string::npos)
      << r.out;
}

TEST(QmailLmtp, UnixSocketHostExit0) {
  GatewayOptions o;
  o.table_json = table_json(lists());
  o.unix_socket = true;
  Gateway g(o);
  ASSERT_TRUE(g.started()) << g.process().log();
  QmailRun r = run_qmail_lmtp({"24", "1", g.unix_path()}, qmail_env("announce-owner", "alice@example.com"),
                         qmail_message("<qmail-unix@example.com>"));
  EXPECT_EQ(r.exit, 0) << r.out << g.process().log();
  EXPECT_NE(r.out.find("delivered <announce-owner@lists.example.org> to " + g.unix_path()), std::string::npos)
      << r.out;
}

TEST(QmailLmtp, UnknownAddressExit100) {
  Gateway g(discard_options(lists()));
  ASSERT_TRUE(g.started()) << g.process().log();
  QmailRun r = run_qmail_lmtp({std::to_string(g.lmtp_port()), "1"}, qmail_env("nosuchlist", "alice@example.com"),
                         qmail_message("<qmail-2@example.com>"));
  EXPECT_EQ(r.exit, 100) << r.out;
  EXPECT_NE(r.out.find("said at RCPT TO for <nosuchlist@lists.example.org>: 550 5.1.1"), std::string::npos)
      << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
}

TEST(QmailLmtp, BareNamespaceExit100WithoutConnecting) {
  // Mail to listgate@lists.example.org: nothing left after the prefix. The
  // port is closed: a connection attempt would give 111, not 100.
  auto env = qmail_env("x", "alice@example.com");
  env["LOCAL"] = "listgate";
  env["RECIPIENT"] = "listgate@lists.example.org";
  QmailRun r = run_qmail_lmtp({std::to_string(closed_port()), "1"}, env, qmail_message("<qmail-3@example.com>"));
  EXPECT_EQ(r.exit, 100) << r.out;
  EXPECT_NE(r.out.find("no list address in 'listgate@lists.example.org'"), std::string::npos) << r.out;
}

TEST(QmailLmtp, NothingListensExit111) {
  uint16_t port = closed_port();
  ASSERT_NE(port, 0);
  QmailRun r = run_qmail_lmtp({std::to_string(port), "1"}, qmail_env("announce", "alice@example.com"),
                         qmail_message("<qmail-4@example.com>"));
  EXPECT_EQ(r.exit, 111) << r.out;
  EXPECT_NE(r.out.find("cannot connect to LMTP server 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << r.out;
}

TEST(QmailLmtp, ListgateAnswers4xxExit111) {
  // A list whose backend is down: listgate answers 451 4.4.1, qmail retries.
  uint16_t backend = closed_port();
  ASSERT_NE(backend, 0);
  // Relay mode: --discard would take the backend's mail too.
  GatewayOptions o = discard_options(lists(backend));
  o.discard = false;
  o.smtp_port = closed_port();
  Gateway g(o);
  ASSERT_TRUE(g.started()) << g.process().log();
  QmailRun r = run_qmail_lmtp({std::to_string(g.lmtp_port()), "1"}, qmail_env("legacy", "alice@example.com"),
                         qmail_message("<qmail-5@example.com>"));
  EXPECT_EQ(r.exit, 111) << r.out << g.process().log();
  EXPECT_NE(r.out.find(": 451 4.4.1"), std::string::npos) << r.out;
}

TEST(QmailLmtp, SilentServerTimesOutExit111) {
  // Accepts connections (the kernel's backlog) and never says a word.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  auto env = qmail_env("announce", "alice@example.com");
  env["QMAIL_LMTP_TIMEOUT"] = "1";
  QmailRun r = run_qmail_lmtp({std::to_string(ntohs(a.sin_port)), "1"}, env, qmail_message("<qmail-6@example.com>"));
  ::close(fd);
  EXPECT_EQ(r.exit, 111) << r.out;
  EXPECT_NE(r.out.find("no reply to greeting"), std::string::npos) << r.out;
  EXPECT_LT(r.took, 10s);
}

TEST(QmailLmtp, BadArgumentsOrEnvironmentExit111) {
  auto env = qmail_env("announce", "alice@example.com");
  QmailRun r = run_qmail_lmtp({"8024"}, env, "x\n");
  EXPECT_EQ(r.exit, 111) << r.out;
  EXPECT_NE(r.out.find("usage: qmail-lmtp PORT STRIP [HOST]"), std::string::npos) << r.out;
  r = run_qmail_lmtp({"port", "1"}, env, "x\n");
  EXPECT_EQ(r.exit, 111) << r.out;
  env.erase("SENDER");
  r = run_qmail_lmtp({"8024", "1"}, env, "x\n");
  EXPECT_EQ(r.exit, 111) << r.out;
  EXPECT_NE(r.out.find("$SENDER is not set"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace listgate::testing
