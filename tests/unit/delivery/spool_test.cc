// spool_test.cc - the retry spool: files on disk, the .meta text, recovery and the listing.
//
// Each test gets its own directory under /tmp. Bodies are built in a pool of
// 64-byte buffers so that a message is written from many slices, as a
// received one is.
#include "listgate/delivery/spool.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace listgate::delivery {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "List-Id: <dev.lists.example.org>\r\nPrecedence: list\r\n";

std::string sample_body(size_t size) {
  std::string body;
  for (size_t line = 0; body.size() < size; ++line)
    body += "line " + std::to_string(line) + " of the body\r\n";
  body.resize(size);
  return body;
}

SpoolEntry sample_entry() {
  SpoolEntry e;
  e.kind = SpoolKind::post;
  e.list = "dev@lists.example.org";
  e.sender = "dev-bounces@lists.example.org";
  e.verp = true;
  e.body_8bit = true;
  e.smtputf8 = false;
  e.bare_newlines = true;
  e.message_id = "<abc@example.com>";
  e.recipients = {"alice@example.com", "bob@example.net"};
  e.created = 1700000000;
  e.next_attempt = 1700000005;
  e.attempts = 1;
  e.last_reply = "451 4.3.0 try again later";
  return e;
}

void expect_same_entry(const SpoolEntry& a, const SpoolEntry& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.list, b.list);
  EXPECT_EQ(a.sender, b.sender);
  EXPECT_EQ(a.verp, b.verp);
  EXPECT_EQ(a.body_8bit, b.body_8bit);
  EXPECT_EQ(a.smtputf8, b.smtputf8);
  EXPECT_EQ(a.bare_newlines, b.bare_newlines);
  EXPECT_EQ(a.message_id, b.message_id);
  EXPECT_EQ(a.recipients, b.recipients);
  EXPECT_EQ(a.created, b.created);
  EXPECT_EQ(a.next_attempt, b.next_attempt);
  EXPECT_EQ(a.attempts, b.attempts);
  EXPECT_EQ(a.last_reply, b.last_reply);
  EXPECT_EQ(a.prefix_length, b.prefix_length);
  EXPECT_EQ(a.body_length, b.body_length);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

bool contains(const std::vector<std::string>& lines, std::string_view needle) {
  for (const std::string& line : lines) {
    if (line.find(needle) != std::string::npos) return true;
  }
  return false;
}

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/listgate-spool-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ / "spool";
  }
  void TearDown() override {
    std::error_code ignored;
    fs::permissions(dir_, fs::perms::owner_all, ignored);
    fs::remove_all(root_, ignored);
  }

  std::unique_ptr<Spool> open_spool() {
    auto spool = Spool::open(dir_.string());
    EXPECT_TRUE(spool.ok()) << (spool.ok() ? "" : spool.error().message);
    return spool.ok() ? std::move(spool.value()) : nullptr;
  }

  // Adds an entry with a body of `body_size` bytes; returns it with its id.
  SpoolEntry add(Spool& spool, SpoolEntry entry, size_t body_size = 1000) {
    io::SliceChain body = io::copy_into_pool(pool_, sample_body(body_size));
    auto added = spool.add(entry, kPrefix, body);
    EXPECT_TRUE(added.ok()) << (added.ok() ? "" : added.error().message);
    return entry;
  }

  // The names in the spool directory, sorted.
  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path root_;
  fs::path dir_;
  io::BufferPool pool_{64};
};

// ---------------------------------------------------------------------------
// add, load_all, read_message, update, remove

TEST_F(SpoolTest, AddWritesAMultiSliceMessageThatLoadsBack) {
  auto spool = open_spool();
  ASSERT_TRUE(spool);
  const std::string body_bytes = sample_body(5000);
  io::SliceChain body = io::copy_into_pool(pool_, body_bytes);
  ASSERT_GT(body.size(), 50u);

  SpoolEntry entry = sample_entry();
  ASSERT_TRUE(spool->add(entry, kPrefix, body).ok());
  ASSERT_FALSE(entry.id.empty());
  EXPECT_EQ(entry.id.find_first_not_of("0123456789abcdef-"), std::string::npos) << entry.id;
  EXPECT_EQ(entry.prefix_length, kPrefix.size());
  EXPECT_EQ(entry.body_length, body_bytes.size());
  EXPECT_EQ(files(), (std::vector<std::string>{entry.id + ".meta", entry.id + ".msg"}));

  std::vector<std::string> problems;
  auto loaded = spool->load_all(&problems);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_TRUE(problems.empty());
  ASSERT_EQ(loaded->size(), 1u);
  expect_same_entry(loaded->front(), entry);

  auto message = spool->read_message(loaded->front());
  ASSERT_TRUE(message.ok()) << message.error().message;
  EXPECT_EQ(*message, std::string(kPrefix) + body_bytes);
}

TEST_F(SpoolTest, EmptyBodyAndPrefixAreStored) {
  auto spool = open_spool();
  ASSERT_TRUE(spool);
  SpoolEntry entry = sample_entry();
  ASSERT_TRUE(spool->add(entry, "", io::SliceChain{}).ok());
  EXPECT_EQ(entry.prefix_length, 0u);
  EXPECT_EQ(entry.body_length, 0u);
  auto message = spool->read_message(entry);
  ASSERT_TRUE(message.ok()) << message.error().message;
  EXPECT_EQ(*message, "");
}

TEST_F(SpoolTest, IdsAreDistinctAndLoadAllSortsByNextAttemptThenId) {
  auto spool = open_spool();
  ASSERT_TRUE(spool);
  std::vector<SpoolEntry> added;
  for (int64_t next : {300, 100, 200, 100}) {
    SpoolEntry e = sample_entry();
    e.next_attempt = next;
    added.push_back(add(*spool, e));
  }
  std::vector<std::string> problems;
  auto loaded = spool->load_all(&problems);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 4u);
  EXPECT_TRUE(problems.empty());
  for (size_t i = 1; i < loaded->size(); ++i) {
    const SpoolEntry& a = (*loaded)[i - 1];
    const SpoolEntry& b = (*loaded)[i];
    EXPECT_NE(a.id, b.id);
    EXPECT_TRUE(a.next_attempt < b.next_attempt || (a.next_attempt == b.next_attempt && a.id < b.id));
  }
  EXPECT_EQ((*loaded)[0].next_attempt, 100);
  EXPECT_EQ((*loaded)[3].next_attempt, 300);
}

TEST_F(SpoolTest, UpdateRewritesTheMetaAndReloads) {
  auto spool = open_spool();
  ASSERT_TRUE(spool);
  SpoolEntry entry = add(*spool, sample_entry());
  entry.recipients = {"bob@example.net"};
  entry.attempts = 4;
  entry.next_attempt = 1700000100;
  entry.last_reply = "452 4.2.2 mailbox full\r\nsecond line";
  ASSERT_TRUE(spool->update(entry).ok());
  EXPECT_EQ(files(), (std::vector<std::string>{entry.id + ".meta", entry.id + ".msg"}));  // no .tmp left

  auto loaded = spool->load_all(nullptr);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->front().recipients, std::vector<std::string>{"bob@example.net"});
  EXPECT_EQ(loaded->front().attempts, 4u);
  EXPECT_EQ(loaded->front().next_attempt, 1700000100);
  EXPECT_EQ(loaded->front().last_reply, "452 4.2.2 mailbox full  second line");
  EXPECT_TRUE(spool->read_message(loaded->front()).ok());
}

TEST_F(SpoolTest, RemoveDeletesBothFiles) {
  auto spool = open_spool();
  ASSERT_TRUE(spool);
  SpoolEntry kept = add(*spool, sample_entry());
  SpoolEntry gone = add(*spool, sample_entry());
  ASSERT_TRUE(spool->remove(gone.id).ok());
  EXPECT_EQ(files(), (std::vector<std::string>{kept.id + ".meta", kept.id + ".msg"}));

  // The .meta is what says the entry exists: removing it twice is an error.
  auto again = spool->remove(gone.id);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find((dir_ / (gone.id + ".meta")).string()), std::string::npos)
      << again.error().message;
  EXPECT_NE(again.error().message.find("No such file"), std::string::npos) << again.error().message;

  // A .msg already gone is not.
  fs::remove(dir_ / (kept.id + ".msg"));
  EXPECT_TRUE(spool->remove(kept.id).ok());
  EXPECT_TRUE(files().empty());
}

TEST_F(SpoolTest, IdsThatAreNotSpoolIdsAreRefused) {
  auto spool = open_spool();
  ASSERT_TRUE(spool);
  write_text(root_ / "victim.meta", "x");
  EXPECT_FALSE(spool->remove("../victim").ok());
  EXPECT_TRUE(fs::exists(root_ / "victim.meta"));
  SpoolEntry entry = sample_entry();
  entry.id = "../victim";
  EXPECT_FALSE(spool->update(entry).ok());
  EXPECT_FALSE(spool->read_message(entry).ok());
  entry.id = "";
  EXPECT_FALSE(spool->update(entry).ok());
}

TEST_F(SpoolTest, ReadMessageChecksTheLength) {
  auto spool = open_spool();
  ASSERT_TRUE(spool);
  SpoolEntry entry = add(*spool, sample_entry());
  entry.body_length += 1;
  auto message = spool->read_message(entry);
  ASSERT_FALSE(message.ok());
  EXPECT_NE(message.error().message.find(entry.id + ".msg"), std::string::npos) << message.error().message;
  EXPECT_NE(message.error().message.find("expected"), std::string::npos) << message.error().message;
}

// ---------------------------------------------------------------------------
// open

TEST_F(SpoolTest, OpenCreatesNestedDirectories) {
  dir_ = root_ / "a" / "b" / "c";
  auto spool = open_spool();
  ASSERT_TRUE(spool);
  EXPECT_TRUE(fs::is_directory(dir_));
  EXPECT_EQ(spool->dir(), dir_.string());
  add(*spool, sample_entry());
  EXPECT_EQ(files().size(), 2u);
}

TEST_F(SpoolTest, OpenWithoutCreateNeedsTheDirectory) {
  auto spool = Spool::open(dir_.string(), /*create=*/false);
  ASSERT_FALSE(spool.ok());
  EXPECT_EQ(spool.error().message, "spool " + dir_.string() + " does not exist");
  EXPECT_FALSE(fs::exists(dir_));
  fs::create_directory(dir_);
  EXPECT_TRUE(Spool::open(dir_.string(), /*create=*/false).ok());
}

TEST_F(SpoolTest, OpenOfAFileFails) {
  write_text(root_ / "file", "not a directory");
  auto spool = Spool::open((root_ / "file").string());
  ASSERT_FALSE(spool.ok());
  EXPECT_NE(spool.error().message.find("Not a directory"), std::string::npos) << spool.error().message;
  auto below = Spool::open((root_ / "file" / "spool").string());
  ASSERT_FALSE(below.ok());
  EXPECT_NE(below.error().message.find((root_ / "file" / "spool").string()), std::string::npos)
      << below.error().message;
}

// ---------------------------------------------------------------------------
// add failures leave nothing behind

TEST_F(SpoolTest, AddIntoARemovedDirectoryFails) {
  auto spool = open_spool();
  ASSERT_TRUE(spool);
  fs::remove(dir_);
  SpoolEntry entry = sample_entry();
  io::SliceChain body = io::copy_into_pool(pool_, sample_body(500));
  auto added = spool->add(entry, kPrefix, body);
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.error().message.find(dir_.string() + "/"), std::string::npos) << added.error().message;
  EXPECT_NE(added.error().message.find("No such file or directory"), std::string::npos)
      << added.error().message;
  EXPECT_FALSE(fs::exists(dir_));
}

TEST_F(SpoolTest, AddIntoAnUnwritableDirectoryFails) {
  if (geteuid() == 0) GTEST_SKIP() << "root writes anywhere";
  auto spool = open_spool();
  ASSERT_TRUE(spool);
  fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec);
  SpoolEntry entry = sample_entry();
  io::SliceChain body = io::copy_into_pool(pool_, sample_body(500));
  auto added = spool->add(entry, kPrefix, body);
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.error().message.find("Permission denied"), std::string::npos) << added.error().message;
  EXPECT_TRUE(files().empty());
  EXPECT_FALSE(Spool::open(dir_.string()).ok());
}

// Makes writes past `bytes` fail with EFBIG, for as long as it lives.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler_ = signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old_);
    rlimit limited = old_;
    limited.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limited);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit old_{};
  sighandler_t old_handler_;
};

TEST_F(SpoolTest, AddThatCannotWriteTheMessageLeavesNothing) {
  auto spool = open_spool();
  ASSERT_TRUE(spool);
  SpoolEntry entry = sample_entry();
  io::SliceChain body = io::copy_into_pool(pool_, sample_body(20000));
  Result<void> added;
  {
    FileSizeLimit limit(8192);
    added = spool->add(entry, kPrefix, body);
  }
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.error().message.find(".msg: cannot write: File too large"), std::string::npos)
      << added.error().message;
  EXPECT_TRUE(entry.id.empty());
  EXPECT_TRUE(files().empty());
}

TEST_F(SpoolTest, AddThatCannotWriteTheMetaLeavesNothing) {
  auto spool = open_spool();
  ASSERT_TRUE(spool);
  SpoolEntry entry = sample_entry();
  entry.recipients.clear();
  for (int i = 0; i < 1000; ++i) entry.recipients.push_back("member" + std::to_string(i) + "@example.com");
  io::SliceChain body = io::copy_into_pool(pool_, sample_body(1000));
  Result<void> added;
  {
    FileSizeLimit limit(8192);
    added = spool->add(entry, kPrefix, body);
  }
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.error().message.find(".meta.tmp: cannot write: File too large"), std::string::npos)
      << added.error().message;
  EXPECT_TRUE(files().empty());
}

TEST_F(SpoolTest, AddAndUpdateRefuseLineBreaksInAddresses) {
  auto spool = open_spool();
  ASSERT_TRUE(spool);
  io::SliceChain body = io::copy_into_pool(pool_, "body\r\n");
  for (auto breaks : {+[](SpoolEntry& e) { e.recipients.push_back("evil@example.com\r\nRCPT TO:<x@y>"); },
                      +[](SpoolEntry& e) { e.sender = "a@b\nc"; },
                      +[](SpoolEntry& e) { e.list = "dev@lists.example.org\r"; },
                      +[](SpoolEntry& e) { e.recipients.push_back(""); }}) {
    SpoolEntry entry = sample_entry();
    breaks(entry);
    EXPECT_FALSE(spool->add(entry, kPrefix, body).ok());
  }
  EXPECT_TRUE(files().empty());

  SpoolEntry entry = add(*spool, sample_entry());
  const std::string meta_before = read_text(dir_ / (entry.id + ".meta"));
  entry.recipients.push_back("x@example.com\nrcpt: y@example.com");
  auto updated = spool->update(entry);
  ASSERT_FALSE(updated.ok());
  EXPECT_NE(updated.error().message.find("CR/LF"), std::string::npos) << updated.error().message;
  EXPECT_EQ(read_text(dir_ / (entry.id + ".meta")), meta_before);
}

// ---------------------------------------------------------------------------
// load_all: recovery

TEST_F(SpoolTest, OrphanMessageIsRemovedAndReported) {
  auto spool = open_spool();
  ASSERT_TRUE(spool);
  SpoolEntry kept = add(*spool, sample_entry());
  write_text(dir_ / "abc-1.msg", "half an add");
  std::vector<std::string> problems;
  auto loaded = spool->load_all(&problems);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->size(), 1u);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], (dir_ / "abc-1.msg").string() + ": orphan (no .meta, never acknowledged) removed");
  EXPECT_EQ(files(), (std::vector<std::string>{kept.id + ".meta", kept.id + ".msg"}));
}

TEST_F(SpoolTest, StaleTemporaryMetaIsRemovedAndReported) {
  auto spool = open_spool();
  ASSERT_TRUE(spool);
  SpoolEntry kept = add(*spool, sample_entry());
  write_text(dir_ / (kept.id + ".meta.tmp"), "listgate-spool 1\nid: ");
  std::vector<std::string> problems;
  auto loaded = spool->load_all(&problems);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->size(), 1u);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], (dir_ / (kept.id + ".meta.tmp")).string() + ": stale temporary file removed");
  EXPECT_EQ(files(), (std::vector<std::string>{kept.id + ".meta", kept.id + ".msg"}));
}

TEST_F(SpoolTest, BrokenMetaIsRenamedToBadAndItsMessageKept) {
  auto spool = open_spool();
  ASSERT_TRUE(spool);
  SpoolEntry good = add(*spool, sample_entry());
  SpoolEntry broken = add(*spool, sample_entry());
  write_text(dir_ / (broken.id + ".meta"), "listgate-spool 1\nid: " + broken.id + "\nfrobnicate: yes\n");
  std::vector<std::string> problems;
  auto loaded = spool->load_all(&problems);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->front().id, good.id);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], (dir_ / (broken.id + ".meta")).string() +
                             ": line 3: unknown key 'frobnicate'; renamed to " + broken.id + ".bad");
  std::vector<std::string> expected{good.id + ".meta", good.id + ".msg", broken.id + ".bad",
                                    broken.id + ".msg"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(files(), expected);

  // Next time the .msg beside the .bad is neither an orphan nor a problem.
  problems.clear();
  ASSERT_TRUE(spool->load_all(&problems).ok());
  EXPECT_TRUE(problems.empty()) << problems.front();
  EXPECT_EQ(files(), expected);
}

TEST_F(SpoolTest, MessageOfTheWrongSizeSetsTheEntryAside) {
  auto spool = open_spool();
  ASSERT_TRUE(spool);
  SpoolEntry entry = add(*spool, sample_entry(), 1000);
  write_text(dir_ / (entry.id + ".msg"), "cut short");
  std::vector<std::string> problems;
  auto loaded = spool->load_all(&problems);
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->empty());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], (dir_ / (entry.id + ".meta")).string() + ": " + entry.id +
                             ".msg has 9 bytes, expected " + std::to_string(kPrefix.size() + 1000) +
                             "; renamed to " + entry.id + ".bad");
  EXPECT_EQ(files(), (std::vector<std::string>{entry.id + ".bad", entry.id + ".msg"}));
}

TEST_F(SpoolTest, MissingMessageSetsTheEntryAside) {
  auto spool = open_spool();
  ASSERT_TRUE(spool);
  SpoolEntry entry = add(*spool, sample_entry());
  fs::remove(dir_ / (entry.id + ".msg"));
  std::vector<std::string> problems;
  auto loaded = spool->load_all(&problems);
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->empty());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], (dir_ / (entry.id + ".meta")).string() + ": " + entry.id +
                             ".msg: No such file or directory; renamed to " + entry.id + ".bad");
  EXPECT_EQ(files(), std::vector<std::string>{entry.id + ".bad"});
}

TEST_F(SpoolTest, LoadAllWithoutRepairOnlyReports) {
  auto spool = open_spool();
  ASSERT_TRUE(spool);
  SpoolEntry good = add(*spool, sample_entry());
  SpoolEntry broken = add(*spool, sample_entry());
  SpoolEntry short_msg = add(*spool, sample_entry());
  write_text(dir_ / (broken.id + ".meta"), "listgate-spool 2\n");
  write_text(dir_ / (short_msg.id + ".msg"), "x");
  write_text(dir_ / "abc-1.msg", "orphan");
  write_text(dir_ / (good.id + ".meta.tmp"), "partial");
  write_text(dir_ / "README", "not the spool's");
  const std::vector<std::string> before = files();

  std::vector<std::string> problems;
  auto loaded = spool->load_all(&problems, /*repair=*/false);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->front().id, good.id);
  EXPECT_EQ(files(), before);
  EXPECT_EQ(problems.size(), 4u);
  EXPECT_TRUE(contains(problems, broken.id + ".meta: first line is not 'listgate-spool 1'"));
  EXPECT_TRUE(contains(problems, short_msg.id + ".meta: " + short_msg.id + ".msg has 1 bytes"));
  EXPECT_TRUE(contains(problems, "abc-1.msg: no .meta"));
  EXPECT_TRUE(contains(problems, good.id + ".meta.tmp: temporary file"));
  EXPECT_FALSE(contains(problems, "renamed"));
  EXPECT_FALSE(contains(problems, "removed"));
}

// ---------------------------------------------------------------------------
// The .meta text

TEST(SpoolMeta, FormatIsTheDocumentedText) {
  SpoolEntry e = sample_entry();
  e.id = "6553f100-2a-0-0badcafe";
  e.prefix_length = 52;
  e.body_length = 1000;
  EXPECT_EQ(format_spool_meta(e),
            "listgate-spool 1\n"
            "id: 6553f100-2a-0-0badcafe\n"
            "kind: post\n"
            "list: dev@lists.example.org\n"
            "sender: dev-bounces@lists.example.org\n"
            "verp: 1\n"
            "8bitmime: 1\n"
            "smtputf8: 0\n"
            "bare-newlines: 1\n"
            "message-id: <abc@example.com>\n"
            "created: 1700000000\n"
            "next-attempt: 1700000005\n"
            "attempts: 1\n"
            "last-reply: 451 4.3.0 try again later\n"
            "prefix-length: 52\n"
            "body-length: 1000\n"
            "rcpt: alice@example.com\n"
            "rcpt: bob@example.net\n");
}

TEST(SpoolMeta, RoundTrips) {
  SpoolEntry e = sample_entry();
  e.id = "1-2-3-4";
  e.kind = SpoolKind::owner;
  e.sender = "";
  e.message_id = "";
  e.last_reply = "  leading spaces and a colon: kept ";
  e.created = -5;
  e.next_attempt = INT64_MAX;
  e.attempts = UINT32_MAX;
  e.prefix_length = 0;
  e.body_length = UINT64_MAX;
  e.recipients = {"c@x", "a@x", "b@x"};
  auto parsed = parse_spool_meta(format_spool_meta(e), e.id);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  expect_same_entry(*parsed, e);

  e.recipients.clear();
  parsed = parse_spool_meta(format_spool_meta(e), e.id);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_TRUE(parsed->recipients.empty());
}

TEST(SpoolMeta, FreeTextIsFlattenedToOneLine) {
  SpoolEntry e = sample_entry();
  e.id = "a";
  e.last_reply = "451-first\r\n451 second\n";
  e.message_id = "<x@\r\n y>";
  const std::string text = format_spool_meta(e);
  EXPECT_NE(text.find("\nlast-reply: 451-first  451 second \n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nmessage-id: <x@   y>\n"), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_TRUE(parse_spool_meta(text, "a").ok());
}

// The text of sample_entry() with `from` replaced by `to` (both whole lines).
std::string meta_with(std::string_view from, std::string_view to) {
  SpoolEntry e = sample_entry();
  e.id = "abc";
  std::string text = format_spool_meta(e);
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

void expect_parse_error(const std::string& text, std::string_view message) {
  auto parsed = parse_spool_meta(text, "abc");
  ASSERT_FALSE(parsed.ok()) << "accepted:\n" << text;
  EXPECT_EQ(parsed.error().message, message) << text;
}

TEST(SpoolMeta, ParseErrors) {
  ASSERT_TRUE(parse_spool_meta(meta_with("", ""), "abc").ok());

  expect_parse_error(meta_with("listgate-spool 1\n", "listgate-spool 2\n"),
                     "first line is not 'listgate-spool 1'");
  expect_parse_error(meta_with("listgate-spool 1\n", ""), "first line is not 'listgate-spool 1'");
  expect_parse_error("", "does not end with a newline (truncated?)");
  expect_parse_error(meta_with("rcpt: bob@example.net\n", "rcpt: bob@exa"),
                     "does not end with a newline (truncated?)");
  expect_parse_error(meta_with("kind: post\n", "kind: post\ncolour: blue\n"), "line 4: unknown key 'colour'");
  expect_parse_error(meta_with("kind: post\n", "kind: post\nKind: post\n"), "line 4: unknown key 'Kind'");
  expect_parse_error(meta_with("kind: post\n", "kind: post\njust words\n"), "line 4: not 'key: value'");
  expect_parse_error(meta_with("kind: post\n", "kind: post\n\n"), "line 4: not 'key: value'");
  expect_parse_error(meta_with("id: abc\n", "id: abd\n"), "id 'abd' does not match the file name ('abc')");
  expect_parse_error(meta_with("id: abc\n", "id: ABC\n"), "line 2: bad value for 'id': 'ABC'");
  expect_parse_error(meta_with("attempts: 1\n", "attempts: 1\nattempts: 2\n"),
                     "line 14: 'attempts' given twice");
  expect_parse_error(meta_with("attempts: 1\n", ""), "no 'attempts' line");
  expect_parse_error(meta_with("kind: post\n", "kind: bounce\n"), "line 3: bad value for 'kind': 'bounce'");
  expect_parse_error(meta_with("verp: 1\n", "verp: yes\n"), "line 6: bad value for 'verp': 'yes'");
  expect_parse_error(meta_with("list: dev@lists.example.org\n", "list: \n"),
                     "line 4: bad value for 'list': ''");
  expect_parse_error(meta_with("rcpt: bob@example.net\n", "rcpt: \n"), "line 18: bad value for 'rcpt': ''");

  // Integers parse whole or not at all.
  expect_parse_error(meta_with("attempts: 1\n", "attempts: 1x\n"), "line 13: bad value for 'attempts': '1x'");
  expect_parse_error(meta_with("attempts: 1\n", "attempts: \n"), "line 13: bad value for 'attempts': ''");
  expect_parse_error(meta_with("attempts: 1\n", "attempts: -1\n"), "line 13: bad value for 'attempts': '-1'");
  expect_parse_error(meta_with("attempts: 1\n", "attempts: +1\n"), "line 13: bad value for 'attempts': '+1'");
  expect_parse_error(meta_with("attempts: 1\n", "attempts: 4294967296\n"),
                     "line 13: bad value for 'attempts': '4294967296'");
  expect_parse_error(meta_with("attempts: 1\n", "attempts:  1\n"), "line 13: bad value for 'attempts': ' 1'");
  expect_parse_error(meta_with("created: 1700000000\n", "created: 1.5\n"),
                     "line 11: bad value for 'created': '1.5'");
  expect_parse_error(meta_with("body-length: 0\n", "body-length: 0x10\n"),
                     "line 16: bad value for 'body-length': '0x10'");

  // CR anywhere: the writer never makes one.
  expect_parse_error(meta_with("rcpt: bob@example.net\n", "rcpt: bob@example.net\r\n"),
                     "contains a carriage return");
  expect_parse_error(meta_with("listgate-spool 1\n", "listgate-spool 1\r\n"), "contains a carriage return");
  expect_parse_error(meta_with("last-reply: 451 4.3.0 try again later\n", "last-reply: 451\r4.3.0\n"),
                     "contains a carriage return");
}

TEST(SpoolMeta, KindNames) {
  EXPECT_EQ(to_string(SpoolKind::post), "post");
  EXPECT_EQ(to_string(SpoolKind::owner), "owner");
}

// ---------------------------------------------------------------------------
// The listing

TEST(SpoolListing, Empty) { EXPECT_EQ(format_spool_listing({}, 1700000000), "spool is empty\n"); }

TEST(SpoolListing, OneLinePerEntryAndATotal) {
  const int64_t now = 1700000000;
  SpoolEntry waiting = sample_entry();
  waiting.id = "65a1-1-0-00000001";
  waiting.created = now - 192;
  waiting.next_attempt = now + 40;
  waiting.attempts = 3;
  SpoolEntry due = sample_entry();
  due.id = "65a1-1-1-00000002";
  due.kind = SpoolKind::owner;
  due.list = "announce@lists.example.org";
  due.recipients = {"boss@example.org"};
  due.created = now - (2 * 86400 + 5 * 3600 + 59);
  due.next_attempt = now;
  due.attempts = 12;
  due.last_reply = "connection refused";

  const std::string listing = format_spool_listing({waiting, due}, now);
  EXPECT_EQ(
      listing,
      "ID                 KIND   LIST                        OWED  TRIES  AGE    NEXT    LAST REPLY\n"
      "65a1-1-0-00000001  post   dev@lists.example.org          2      3  3m12s  in 40s  451 4.3.0 try again "
      "later\n"
      "65a1-1-1-00000002  owner  announce@lists.example.org     1     12  2d5h   due     connection refused\n"
      "2 entries, 3 recipients owed\n");

  due.last_reply.clear();
  const std::string one = format_spool_listing({due}, now);
  EXPECT_NE(one.find("\n65a1-1-1-00000002  owner  announce@lists.example.org     1     12  2d5h  due\n"),
            std::string::npos)
      << one;
  EXPECT_TRUE(one.ends_with("\n1 entry, 1 recipient owed\n")) << one;
}

TEST(SpoolListing, AgesReadAtAGlance) {
  const int64_t now = 1700000000;
  // The AGE and NEXT columns of a one-entry listing of something `seconds` old and due in `seconds`.
  auto columns = [&](int64_t seconds) {
    SpoolEntry e = sample_entry();
    e.id = "a";
    e.created = now - seconds;
    e.next_attempt = now + seconds;
    const std::string listing = format_spool_listing({e}, now);
    std::istringstream line(listing.substr(listing.find('\n') + 1));
    std::string id, kind, list, owed, tries, age, next, in;
    line >> id >> kind >> list >> owed >> tries >> age >> next;
    if (next == "in") {
      line >> in;
      next += " " + in;
    }
    return age + " / " + next;
  };
  EXPECT_EQ(columns(0), "0s / due");
  EXPECT_EQ(columns(45), "45s / in 45s");
  EXPECT_EQ(columns(192), "3m12s / in 3m12s");
  EXPECT_EQ(columns(3600), "1h / in 1h");
  EXPECT_EQ(columns(3660), "1h1m / in 1h1m");
  EXPECT_EQ(columns(86400 + 59), "1d / in 1d");
  EXPECT_EQ(columns(-10), "0s / due");  // the clock went back
}

}  // namespace
}  // namespace listgate::delivery
