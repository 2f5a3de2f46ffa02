// aliases_test.cc - `listgate aliases` as a process, and `listgate serve`
// regenerating the maps at start and on SIGHUP. Real postmap when this
// machine has it (with a private, empty Postfix config directory), a
// stand-in script otherwise.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "harness.h"

namespace listgate::testing {
namespace {

constexpr const char* kRealPostmap = "/usr/sbin/postmap";

constexpr const char* kDesignTable = R"({
  "domains": {"lists.example.org": {"alias_domain": "x.example.org"}},
  "lists": [
    {"address": "announce@lists.example.org", "owners": ["boss@example.org"], "members": ["alice@example.com"]},
    {"address": "dev@other.example.net", "backend": "lmtp:[127.0.0.1]:8025"}]})";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool exists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0;
}

bool have_real_postmap() { return ::access(kRealPostmap, X_OK) == 0; }

// A postmap_command for this machine, set up in `dir`.
std::string postmap_command(const TempDir& dir) {
  if (have_real_postmap()) {
    ::mkdir(dir.file("postfix-conf").c_str(), 0755);
    dir.write("postfix-conf/main.cf", "");
    return std::string(kRealPostmap) + " -c " + dir.file("postfix-conf");
  }
  dir.write("fake-postmap.sh", "#!/bin/sh\nf=\"${1#hash:}\"\ncp \"$f\" \"$f.db\"\n");
  ::chmod(dir.file("fake-postmap.sh").c_str(), 0755);
  return dir.file("fake-postmap.sh");
}

// `postmap -q KEY TYPE:FILE` with the real postmap: the value, or "" when absent.
std::string query(const TempDir& dir, const std::string& key, const std::string& map) {
  CommandResult r = run_command({kRealPostmap, "-c", dir.file("postfix-conf"), "-q", key, map});
  EXPECT_TRUE(r.exit.has_value());
  while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r.exit == 0 ? r.out : "";
}

class AliasesCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("lists.json", kDesignTable);
    ::mkdir(dir_.file("out").c_str(), 0755);
  }
  std::string config(const std::string& extra, const std::string& mta_extra = "") {
    dir_.write("listgate.cfg", "[mta]\nlmtp_host: 127.0.0.1\nlmtp_port: 8024\n" + mta_extra + "\n[listgate]\ntable = " +
                                   dir_.file("lists.json") + "\n" + extra);
    return dir_.file("listgate.cfg");
  }
  CommandResult aliases(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {listgate_binary(), "aliases"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv);
  }
  TempDir dir_;
};

TEST_F(AliasesCommand, HashMapsWithPostmap) {
  const std::string cfg = config("postmap_command = " + postmap_command(dir_) + "\n");
  CommandResult r = aliases({"-c", cfg, "--dir", dir_.file("out")});
  ASSERT_EQ(r.exit, 0) << r.out << r.err;
  for (const char* name : {"postfix_lmtp", "postfix_lmtp.db", "postfix_domains", "postfix_domains.db",
                           "postfix_vmap", "postfix_vmap.db", "exim_domains", "lists/announce.lists.example.org",
                           "lists/announce.x.example.org", "lists/dev.other.example.net"}) {
    EXPECT_TRUE(exists(dir_.file("out/") + name)) << name;
    EXPECT_NE(r.out.find("wrote " + dir_.file("out/") + std::string(name).substr(0, std::string(name).find('/'))),
              std::string::npos)
        << name << "\n" << r.out;
  }
  EXPECT_NE(r.out.find("2 lists, hash tables, 3 Exim marker files"), std::string::npos) << r.out;
  EXPECT_NE(read_file(dir_.file("out/postfix_lmtp")).find("announce-owner@x.example.org                  lmtp:[127.0.0.1]:8024\n"),
            std::string::npos);
  if (!have_real_postmap()) GTEST_SKIP() << "no " << kRealPostmap << ": the lookups need it";
  const std::string lmtp = "hash:" + dir_.file("out/postfix_lmtp");
  EXPECT_EQ(query(dir_, "announce@x.example.org", lmtp), "lmtp:[127.0.0.1]:8024");
  EXPECT_EQ(query(dir_, "announce-bounces@x.example.org", lmtp), "lmtp:[127.0.0.1]:8024");
  EXPECT_EQ(query(dir_, "dev-request@other.example.net", lmtp), "lmtp:[127.0.0.1]:8024");
  EXPECT_EQ(query(dir_, "announce-request@x.example.org", lmtp), "");  // no backend: listgate says 550
  EXPECT_EQ(query(dir_, "announce@lists.example.org", lmtp), "");      // reaches it through the vmap
  EXPECT_EQ(query(dir_, "announce@lists.example.org", "hash:" + dir_.file("out/postfix_vmap")),
            "announce@x.example.org");
  EXPECT_EQ(query(dir_, "x.example.org", "hash:" + dir_.file("out/postfix_domains")), "lists.example.org");
}

TEST_F(AliasesCommand, RegexpMapsLookedUpByPostfix) {
  const std::string cfg = config("postfix_map_type = regexp\npostmap_command = /bin/false\n");
  CommandResult r = aliases({"-c", cfg, "--dir=" + dir_.file("out")});
  ASSERT_EQ(r.exit, 0) << r.out << r.err;
  EXPECT_FALSE(exists(dir_.file("out/postfix_lmtp.db")));
  if (!have_real_postmap()) GTEST_SKIP() << "no " << kRealPostmap << ": the lookups need it";
  ::mkdir(dir_.file("postfix-conf").c_str(), 0755);
  dir_.write("postfix-conf/main.cf", "");
  const std::string lmtp = "regexp:" + dir_.file("out/postfix_lmtp");
  const std::string vmap = "regexp:" + dir_.file("out/postfix_vmap");
  EXPECT_EQ(query(dir_, "announce-bounces+alice=example.org@x.example.org", lmtp), "lmtp:[127.0.0.1]:8024");
  EXPECT_EQ(query(dir_, "dev-confirm+abc123@other.example.net", lmtp), "lmtp:[127.0.0.1]:8024");
  EXPECT_EQ(query(dir_, "devxrequest@other.example.net", lmtp), "");
  EXPECT_EQ(query(dir_, "announce-join@x.example.org", lmtp), "");
  EXPECT_EQ(query(dir_, "announce-bounces+alice=example.org@lists.example.org", vmap),
            "announce-bounces+alice=example.org@x.example.org");
  EXPECT_EQ(query(dir_, "announce-bounces@lists.example.org", vmap), "announce-bounces@x.example.org");
  EXPECT_EQ(query(dir_, "other.example.net", "regexp:" + dir_.file("out/postfix_domains")), "other.example.net");
}

TEST_F(AliasesCommand, IncomingExim4WritesOnlyTheEximFiles) {
  // Mailman's exim4 MTA: no Postfix maps, so no postmap (a failing one proves it is not run).
  const std::string cfg = config("postmap_command = /bin/false\n", "incoming: mailman.mta.exim4.LMTP\n");
  CommandResult r = aliases({"-c", cfg, "--dir", dir_.file("out")});
  ASSERT_EQ(r.exit, 0) << r.out << r.err;
  EXPECT_TRUE(exists(dir_.file("out/exim_domains")));
  EXPECT_TRUE(exists(dir_.file("out/lists/announce.x.example.org")));
  EXPECT_FALSE(exists(dir_.file("out/postfix_lmtp")));
  EXPECT_FALSE(exists(dir_.file("out/postfix_domains")));
  EXPECT_NE(r.out.find("2 lists, no Postfix maps (incoming is exim4), 3 Exim marker files"), std::string::npos)
      << r.out;
}

TEST_F(AliasesCommand, IncomingNullMtaWritesNothing) {
  CommandResult r = aliases({"-c", config("", "incoming: mailman.mta.null.NullMTA\n"), "--dir", dir_.file("out")});
  ASSERT_EQ(r.exit, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("[mta] incoming is mailman.mta.null.NullMTA: no MTA files to write"), std::string::npos)
      << r.out;
  EXPECT_FALSE(exists(dir_.file("out/exim_domains")));
  EXPECT_FALSE(exists(dir_.file("out/postfix_lmtp")));
}

TEST_F(AliasesCommand, DefaultDirectoryIsTheTables) {
  CommandResult r = aliases({"-c", config("postfix_map_type = regexp\n")});
  ASSERT_EQ(r.exit, 0) << r.out << r.err;
  EXPECT_TRUE(exists(dir_.file("postfix_lmtp")));
  EXPECT_TRUE(exists(dir_.file("lists/dev.other.example.net")));
}

TEST_F(AliasesCommand, FailingPostmapKeepsTheOldMaps) {
  ASSERT_EQ(aliases({"-c", config("postmap_command = " + postmap_command(dir_) + "\n"), "--dir", dir_.file("out")}).exit, 0);
  const std::string before = read_file(dir_.file("out/postfix_lmtp"));
  const std::string before_db = read_file(dir_.file("out/postfix_lmtp.db"));
  dir_.write("lists.json", R"({"lists": [{"address": "fresh@example.com"}]})");
  CommandResult r = aliases({"-c", config("postmap_command = /bin/false\n"), "--dir", dir_.file("out")});
  EXPECT_EQ(r.exit, 1);
  EXPECT_NE(r.err.find("/bin/false hash:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the Postfix maps were left as they were"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(dir_.file("out/postfix_lmtp")), before);
  EXPECT_EQ(read_file(dir_.file("out/postfix_lmtp.db")), before_db);
  EXPECT_TRUE(exists(dir_.file("out/lists/fresh.example.com")));  // Exim's files need no postmap
  EXPECT_FALSE(exists(dir_.file("out/lists/announce.lists.example.org")));
}

TEST_F(AliasesCommand, Errors) {
  dir_.write("broken.json", "{\"lists\": [{\"address\": 7}]}");
  dir_.write("broken.cfg", "[listgate]\ntable = " + dir_.file("broken.json") + "\n");
  CommandResult bad_table = aliases({"-c", dir_.file("broken.cfg"), "--dir", dir_.file("out")});
  EXPECT_EQ(bad_table.exit, 1);
  EXPECT_NE(bad_table.err.find("broken.json:1:"), std::string::npos) << bad_table.err;

  dir_.write("badkey.cfg", "[listgate]\nno_such_key = 1\n");
  CommandResult bad_config = aliases({"-c", dir_.file("badkey.cfg")});
  EXPECT_EQ(bad_config.exit, 1);
  EXPECT_NE(bad_config.err.find("no_such_key"), std::string::npos) << bad_config.err;

  CommandResult no_dir = aliases({"-c", config("postfix_map_type = regexp\n"), "--dir", dir_.file("missing")});
  EXPECT_EQ(no_dir.exit, 1);
  EXPECT_NE(no_dir.err.find(dir_.file("missing")), std::string::npos) << no_dir.err;

  EXPECT_EQ(aliases({"--bogus"}).exit, 2);
  EXPECT_EQ(aliases({"-c"}).exit, 2);
  EXPECT_EQ(aliases({"stray"}).exit, 2);
  CommandResult help = aliases({"--help"});
  EXPECT_EQ(help.exit, 0);
  EXPECT_NE(help.out.find("usage: listgate aliases"), std::string::npos);
}

// ---- listgate serve --------------------------------------------------------

// A gateway serving kDesignTable, with these extra config lines.
GatewayOptions design_table_options(std::vector<std::string> listgate_keys, std::vector<std::string> mta_keys = {}) {
  GatewayOptions o;
  o.table_json = kDesignTable;
  o.listgate_keys = std::move(listgate_keys);
  o.mta_keys = std::move(mta_keys);
  return o;
}

// Sends SIGHUP; returns the log lines before it, for wait_log's from_line.
size_t send_sighup(Gateway& g) {
  const size_t mark = g.process().log_lines();
  g.process().signal(SIGHUP);
  return mark;
}

TEST(ServeMaps, WrittenAtStartAndRegeneratedOnReload) {
  Gateway g(design_table_options({"postfix_map_type = regexp"}));
  ASSERT_TRUE(g.started()) << g.process().log();
  ASSERT_TRUE(g.process().wait_log("event=maps_written", 10s)) << g.process().log();
  const std::string transport = "lmtp:[127.0.0.1]:" + std::to_string(g.lmtp_port());
  const std::string first = read_file(g.dir().file("postfix_lmtp"));
  EXPECT_NE(first.find("/^announce@x\\.example\\.org$/                  " + transport + "\n"), std::string::npos)
      << first;
  EXPECT_TRUE(exists(g.dir().file("postfix_vmap")));
  EXPECT_TRUE(exists(g.dir().file("lists/announce.lists.example.org")));

  g.write_table(R"({"lists": [{"address": "fresh@lists.example.org", "members": ["x@y.z"]}]})");
  const size_t mark = send_sighup(g);
  ASSERT_TRUE(g.process().wait_log("event=reload_ok", 10s, mark)) << g.process().log();
  ASSERT_TRUE(g.process().wait_log("event=maps_written", 10s, mark)) << g.process().log();
  const std::string second = read_file(g.dir().file("postfix_lmtp"));
  EXPECT_NE(second.find("/^fresh-bounces(\\+.*)?@lists\\.example\\.org$/   " + transport + "\n"), std::string::npos)
      << second;
  EXPECT_EQ(second.find("announce"), std::string::npos) << second;
  EXPECT_FALSE(exists(g.dir().file("postfix_vmap")));
  EXPECT_FALSE(exists(g.dir().file("lists/announce.lists.example.org")));
  EXPECT_TRUE(exists(g.dir().file("lists/fresh.lists.example.org")));
  EXPECT_NE(read_file(g.dir().file("exim_domains")).find("domainlist mm_domains = lists.example.org\n"),
            std::string::npos);
  EXPECT_EQ(g.metric("listgate_map_writes_total{result=\"ok\"}"), 2);
  EXPECT_EQ(g.metric("listgate_map_writes_total{result=\"failed\"}"), 0);
}

TEST(ServeMaps, NullMtaWritesNoMaps) {
  Gateway g(design_table_options({}, {"incoming: mailman.mta.null.NullMTA"}));
  ASSERT_TRUE(g.started()) << g.process().log();
  const size_t mark = send_sighup(g);
  ASSERT_TRUE(g.process().wait_log("event=reload_ok", 10s, mark)) << g.process().log();
  EXPECT_EQ(g.process().log().find("event=maps_"), std::string::npos) << g.process().log();
  EXPECT_FALSE(exists(g.dir().file("postfix_lmtp")));
  EXPECT_FALSE(exists(g.dir().file("exim_domains")));
  EXPECT_EQ(g.metric("listgate_map_writes_total{result=\"ok\"}"), -1);  // no such metric
}

TEST(ServeMaps, FailingPostmapIsLoggedCountedAndHarmless) {
  Gateway g(design_table_options({"postfix_map_type = hash", "postmap_command = /bin/false"}));
  ASSERT_TRUE(g.started()) << g.process().log();
  auto line = g.process().wait_log("event=maps_failed", 10s);
  ASSERT_TRUE(line) << g.process().log();
  EXPECT_NE(line->find("level=error"), std::string::npos) << *line;
  EXPECT_NE(line->find("/bin/false hash:"), std::string::npos) << *line;
  EXPECT_FALSE(exists(g.dir().file("postfix_lmtp")));
  EXPECT_TRUE(exists(g.dir().file("exim_domains")));
  const size_t mark = send_sighup(g);
  ASSERT_TRUE(g.process().wait_log("event=maps_failed", 10s, mark)) << g.process().log();
  EXPECT_EQ(g.metric("listgate_map_writes_total{result=\"failed\"}"), 2);
  EXPECT_EQ(g.metric("listgate_reloads_total{result=\"ok\"}"), 1);
  // Still serving.
  auto c = Client::tcp(g.lmtp_port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(greet(*c));
  c->send("MAIL FROM:<a@b.c>\r\nRCPT TO:<announce-bounces+alice=example.org@x.example.org>\r\n");
  EXPECT_EQ(c->code(), "250");
  EXPECT_EQ(c->code(), "250");
}

}  // namespace
}  // namespace listgate::testing
