// bounce_log_test.cc - bounce records as JSON, the log file, and reading DSNs.
//
// Every DSN is read in every slicing (each single cut, one byte per slice,
// random cuts with empty slices between, pool-sized pieces): the answer
// must not depend on where slices end.
#include "listgate/delivery/bounce_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "listgate/base/concat.h"
#include "../../support/slicings.h"

namespace listgate::delivery {
namespace {

using namespace std::chrono_literals;

using listgate::testing::chain_cut;
using listgate::testing::for_each_slicing;

std::string describe(const BounceReport& r) {
  return concat({"final_recipient=[", r.final_recipient, "] status=[", r.status, "] diagnostic=[", r.diagnostic,
                 "] message_id=[", r.message_id, "] is_dsn=", r.is_dsn ? "1" : "0"});
}

BounceReport read_one(std::string_view bytes, size_t limit = 256 * 1024) {
  io::BufferPool pool(1 << 16, /*buffers_per_block=*/1);  // one block per call, not 4 MiB
  return read_bounce(io::copy_into_pool(pool, bytes), limit);
}

// read_bounce of `bytes` as one slice, after checking every other slicing agrees.
BounceReport read(std::string_view bytes, size_t limit = 256 * 1024) {
  const BounceReport whole = read_one(bytes, limit);
  for_each_slicing(bytes, [&](const io::SliceChain& chain, const std::string& how) {
    const std::string got = describe(read_bounce(chain, limit));
    if (got == describe(whole)) return true;
    ADD_FAILURE() << how << ": " << got << " instead of " << describe(whole);
    return false;
  });
  return whole;
}

// LF to CRLF, and a '.' starting a line doubled: the wire form a body arrives in.
std::string wire(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && c == '.') out += '.';
    if (c == '\n') out += '\r';
    out += c;
    line_start = c == '\n';
  }
  return out;
}

// As Postfix's bounce(8) writes one for a recipient refused at RCPT.
const std::string kPostfixDsn = wire(
    "Return-Path: <>\n"
    "Received: by mx.example.net (Postfix)\n"
    "\tid 4Xb2Qk1FzGz9sT; Wed, 25 Nov 2026 10:00:00 +0000 (UTC)\n"
    "Date: Wed, 25 Nov 2026 10:00:00 +0000 (UTC)\n"
    "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    "To: announce-bounces+alice=example.com@lists.example.org\n"
    "Auto-Submitted: auto-replied\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=delivery-status;\n"
    "\tboundary=\"4Xb2Qk1FzGz9sT.1795600800/mx.example.net\"\n"
    "Content-Transfer-Encoding: 8bit\n"
    "Message-Id: <20261125100000.4Xb2Qk1FzGz9sT@mx.example.net>\n"
    "\n"
    "This is a MIME-encapsulated message.\n"
    "\n"
    "--4Xb2Qk1FzGz9sT.1795600800/mx.example.net\n"
    "Content-Description: Notification\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "This is the mail system at host mx.example.net.\n"
    "\n"
    "I'm sorry to have to inform you that your message could not\n"
    "be delivered to one or more recipients. It's attached below.\n"
    "\n"
    "For further assistance, please send mail to postmaster.\n"
    "\n"
    "If you do so, please include this problem report. You can\n"
    "delete your own text from the attached returned message.\n"
    "\n"
    "                   The mail system\n"
    "\n"
    "<alice@example.com>: host mx.example.com[203.0.113.5] said: 550 5.1.1\n"
    "    <alice@example.com>: Recipient address rejected: User unknown in local\n"
    "    recipient table (in reply to RCPT TO command)\n"
    "\n"
    "--4Xb2Qk1FzGz9sT.1795600800/mx.example.net\n"
    "Content-Description: Delivery report\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mx.example.net\n"
    "X-Postfix-Queue-ID: 4Xb2Qk1FzGz9sT\n"
    "X-Postfix-Sender: rfc822; announce-bounces+alice=example.com@lists.example.org\n"
    "Arrival-Date: Wed, 25 Nov 2026 09:59:58 +0000 (UTC)\n"
    "\n"
    "Final-Recipient: rfc822; alice@example.com\n"
    "Original-Recipient: rfc822;alice@example.com\n"
    "Action: failed\n"
    "Status: 5.1.1\n"
    "Remote-MTA: dns; mx.example.com\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <alice@example.com>: Recipient address\n"
    "    rejected: User unknown in local recipient table\n"
    "\n"
    "--4Xb2Qk1FzGz9sT.1795600800/mx.example.net\n"
    "Content-Description: Undelivered Message Headers\n"
    "Content-Type: text/rfc822-headers\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    "Return-Path: <announce-bounces+alice=example.com@lists.example.org>\n"
    "Received: from gw.example.org (gw.example.org [192.0.2.1])\n"
    "\tby mx.example.net (Postfix) with ESMTPS id 4Xb2Qk1FzGz9sT\n"
    "\tfor <alice@example.com>; Wed, 25 Nov 2026 09:59:58 +0000 (UTC)\n"
    "Message-ID: <post.1@example.org>\n"
    "Subject: Hello\n"
    ".hidden: a line that starts with a dot\n"
    "Status: RO\n"
    "\n"
    "--4Xb2Qk1FzGz9sT.1795600800/mx.example.net--\n");

constexpr std::string_view kPostfixDiagnostic =
    "550 5.1.1 <alice@example.com>: Recipient address rejected: User unknown in local recipient table";

TEST(ReadBounce, PostfixDsn) {
  const BounceReport r = read(kPostfixDsn);
  EXPECT_TRUE(r.is_dsn);
  EXPECT_EQ(r.final_recipient, "alice@example.com");
  EXPECT_EQ(r.status, "5.1.1");
  EXPECT_EQ(r.diagnostic, kPostfixDiagnostic);
  EXPECT_EQ(r.message_id, "<20261125100000.4Xb2Qk1FzGz9sT@mx.example.net>");
}

TEST(ReadBounce, TruncatedPostfixDsn) {
  const std::string& dsn = kPostfixDsn;
  const std::string id = "<20261125100000.4Xb2Qk1FzGz9sT@mx.example.net>";
  const size_t id_end = dsn.find("\r\n", dsn.find("Message-Id:")) + 2;
  const size_t type_end = dsn.find("\r\n", dsn.find("message/delivery-status")) + 2;
  const size_t status_begin = dsn.find("Status: 5");
  const size_t status_end = status_begin + 15;
  const size_t diagnostic_text = dsn.find("smtp; 550") + 5;
  const size_t block_end = dsn.find("\r\n\r\n", status_begin) + 4;
  const std::string full = describe(read_one(dsn));
  for (size_t n = 0; n <= dsn.size(); ++n) {
    SCOPED_TRACE(concat({"cut at ", std::to_string(n)}));
    // The limit drops the line it cuts; a body that ends early keeps its last line, cut as it is.
    const BounceReport limited = read_one(dsn, n);
    const BounceReport cut = read_one(dsn.substr(0, n));
    if (n >= block_end) {
      EXPECT_EQ(describe(limited), full);
      EXPECT_EQ(describe(cut), full);
      continue;
    }
    EXPECT_EQ(limited.message_id, n >= id_end ? id : "");
    EXPECT_TRUE(id.starts_with(cut.message_id)) << cut.message_id;
    if (n >= id_end - 2) {
      EXPECT_EQ(cut.message_id, id);
    }
    EXPECT_EQ(limited.is_dsn, n >= type_end);
    EXPECT_EQ(cut.is_dsn, n >= type_end - 2);
    for (const BounceReport& r : {limited, cut}) {
      if (n < status_begin) {
        EXPECT_EQ(r.status, "");
      }
      if (n >= status_end) {
        EXPECT_EQ(r.status, "5.1.1");
      }
      EXPECT_TRUE(r.status == "" || r.status == "5.1.1") << r.status;
      if (&r == &limited || n >= diagnostic_text) {
        EXPECT_TRUE(kPostfixDiagnostic.starts_with(r.diagnostic)) << r.diagnostic;
      }
    }
  }
}

TEST(ReadBounce, TruncatedInEverySlicing) {
  const size_t mid_diagnostic = kPostfixDsn.rfind("rejected: User");
  const BounceReport r = read(kPostfixDsn.substr(0, mid_diagnostic));
  EXPECT_EQ(r.final_recipient, "alice@example.com");
  EXPECT_EQ(r.status, "5.1.1");
  EXPECT_EQ(r.diagnostic, "550 5.1.1 <alice@example.com>: Recipient address");
  const BounceReport limited = read(kPostfixDsn, mid_diagnostic + 3);
  EXPECT_EQ(describe(limited), describe(r));
}

TEST(ReadBounce, NotADsn) {
  const BounceReport r = read(wire(
      "From: MAILER-DAEMON@qmail.example.net\n"
      "To: announce-bounces+bob=example.net@lists.example.org\n"
      "Subject: failure notice\n"
      "Message-ID: <q.1@qmail.example.net>\n"
      "\n"
      "Hi. This is the qmail-send program at qmail.example.net.\n"
      "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
      "This is a permanent error; I've given up. Sorry it didn't work out.\n"
      "\n"
      "<bob@example.net>:\n"
      "Sorry, no mailbox here by that name. (#5.1.1)\n"
      "\n"
      "--- Below this line is a copy of the message.\n"
      "\n"
      "Return-Path: <announce-bounces+bob=example.net@lists.example.org>\n"
      "Message-ID: <post.2@example.org>\n"
      "Status: RO\n"
      "Status: 5.1.1x\n"));
  EXPECT_FALSE(r.is_dsn);
  EXPECT_EQ(r.final_recipient, "");
  EXPECT_EQ(r.status, "");
  EXPECT_EQ(r.diagnostic, "");
  EXPECT_EQ(r.message_id, "<q.1@qmail.example.net>");
}

TEST(ReadBounce, StatusInTheTopHeaderIsNotADsn) {
  const BounceReport r = read(wire("Status: 5.1.1\nFinal-Recipient: rfc822; a@b\nSubject: x\n\nhello\n"));
  EXPECT_FALSE(r.is_dsn);
  EXPECT_EQ(r.status, "");
  EXPECT_EQ(r.final_recipient, "");
}

TEST(ReadBounce, FoldedDiagnosticCode) {
  const BounceReport r = read(wire(
      "Message-ID:\n"
      "  <folded@mx.example.net>\n"
      "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n"
      "\n"
      "--b\n"
      "Content-Type: message/delivery-status\n"
      "\n"
      "Reporting-MTA: dns; mx.example.net\n"
      "\n"
      "final-recipient: RFC822;\n"
      "  <Bob@Example.NET>\n"
      "action: failed\n"
      "status: 5.2.2 (mailbox full)\n"
      "diagnostic-code: smtp;\n"
      " 552-5.2.2 The email account that you tried to reach is over quota.\n"
      "\t552 5.2.2 Please direct the recipient to\n"
      "       \n"
      "  https://support.example.com/quota \n"
      "\n"
      "--b--\n"));
  EXPECT_TRUE(r.is_dsn);
  EXPECT_EQ(r.message_id, "<folded@mx.example.net>");
  EXPECT_EQ(r.final_recipient, "Bob@Example.NET");
  EXPECT_EQ(r.status, "5.2.2");
  EXPECT_EQ(r.diagnostic,
            "552-5.2.2 The email account that you tried to reach is over quota. 552 5.2.2 Please direct the "
            "recipient to https://support.example.com/quota");
}

TEST(ReadBounce, FirstRecipientBlockOnly) {
  const BounceReport r = read(wire(
      "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n"
      "\n"
      "--b\n"
      "Content-Type: message/delivery-status\n"
      "\n"
      "Reporting-MTA: dns; mx.example.net\n"
      "\n"
      "Original-Recipient: rfc822; first@example.org\n"
      "Action: delayed\n"
      "Status: 4.4.1\n"
      "\n"
      "Final-Recipient: rfc822; second@example.org\n"
      "Action: failed\n"
      "Status: 5.1.1\n"
      "Diagnostic-Code: smtp; 550 no\n"
      "\n"
      "--b--\n"));
  EXPECT_TRUE(r.is_dsn);
  EXPECT_EQ(r.final_recipient, "first@example.org");  // Original-Recipient stands in
  EXPECT_EQ(r.status, "4.4.1");
  EXPECT_EQ(r.diagnostic, "");
  EXPECT_EQ(r.message_id, "");
}

TEST(ReadBounce, DeliveryStatusPartWithoutStatus) {
  const BounceReport r = read(wire(
      "Subject: x\n\n--b\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822;c@example.org\n"));
  EXPECT_TRUE(r.is_dsn);
  EXPECT_EQ(r.final_recipient, "c@example.org");
  EXPECT_EQ(r.status, "");
}

TEST(ReadBounce, BareLineFeedsAndNoType) {
  const BounceReport r =
      read("Message-ID: <lf@x>\n\nFinal-Recipient: d@example.org\nStatus: 5.7.1\nDiagnostic-Code: refused\n");
  EXPECT_TRUE(r.is_dsn);
  EXPECT_EQ(r.final_recipient, "d@example.org");
  EXPECT_EQ(r.status, "5.7.1");
  EXPECT_EQ(r.diagnostic, "refused");
  EXPECT_EQ(r.message_id, "<lf@x>");
}

TEST(ReadBounce, GarbageNeverCrashes) {
  EXPECT_EQ(describe(read("")), describe(BounceReport{}));
  EXPECT_EQ(describe(read("\r\n")), describe(BounceReport{}));
  EXPECT_EQ(describe(read(":\r\n\r\n:\r\n \r\n;\r\n")), describe(BounceReport{}));
  EXPECT_EQ(read("\r\nStatus:\r\nStatus: 5\r\nStatus: 5.1\r\nStatus: 5..1\r\nStatus: 9.1.1\r\n").status, "");
  std::mt19937 rng(7);
  const char raw[] = "\r\n\r\n:;<> .\t\0\xff\xc3StatusFinalRecipient-5.1";
  const std::string alphabet(raw, sizeof raw - 1);
  for (int round = 0; round < 2000; ++round) {
    std::string junk(rng() % 300, ' ');
    for (char& c : junk) c = alphabet[rng() % alphabet.size()];
    const BounceReport r = read_one(junk, rng() % 400);
    EXPECT_LE(r.final_recipient.size() + r.diagnostic.size() + r.status.size() + r.message_id.size(), junk.size());
  }
}

TEST(DecodeVerpTag, Cases) {
  EXPECT_EQ(decode_verp_tag("alice=example.org"), "alice@example.org");
  EXPECT_EQ(decode_verp_tag("a=b=c.org"), "a=b@c.org");
  EXPECT_EQ(decode_verp_tag("noequals"), "");
  EXPECT_EQ(decode_verp_tag("=x"), "");
  EXPECT_EQ(decode_verp_tag("x="), "");
  EXPECT_EQ(decode_verp_tag("="), "");
  EXPECT_EQ(decode_verp_tag(""), "");
}

std::chrono::system_clock::time_point nov25() {
  return std::chrono::sys_days{std::chrono::year{2026} / 11 / 25} + 10h;
}

TEST(FormatBounceRecord, AllFields) {
  BounceRecord r;
  r.time = nov25() + 59min + 7s + 999ms;
  r.list = "announce@lists.example.org";
  r.member = "alice@example.com";
  r.status = "5.1.1";
  r.diagnostic = "550 5.1.1 <alice@example.com>: user unknown";
  r.message_id = "<abc@example.org>";
  EXPECT_EQ(format_bounce_record(r),
            R"({"time":"2026-11-25T10:59:07Z","list":"announce@lists.example.org","member":"alice@example.com",)"
            R"("status":"5.1.1","diagnostic":"550 5.1.1 <alice@example.com>: user unknown",)"
            R"("message_id":"<abc@example.org>"})");
}

TEST(FormatBounceRecord, EmptyFieldsOmitted) {
  BounceRecord r;
  r.time = nov25();
  EXPECT_EQ(format_bounce_record(r), R"({"time":"2026-11-25T10:00:00Z","list":"","diagnostic":""})");
  r.list = "l@x";
  r.status = "4.4.1";
  EXPECT_EQ(format_bounce_record(r), R"({"time":"2026-11-25T10:00:00Z","list":"l@x","status":"4.4.1","diagnostic":""})");
  r.time = std::chrono::system_clock::time_point{};
  EXPECT_TRUE(format_bounce_record(r).starts_with(R"({"time":"1970-01-01T00:00:00Z",)"));
}

std::string diagnostic_json(std::string_view diagnostic) {
  BounceRecord r;
  r.time = nov25();
  r.diagnostic = diagnostic;
  const std::string line = format_bounce_record(r);
  const std::string_view head = R"({"time":"2026-11-25T10:00:00Z","list":"","diagnostic":")";
  EXPECT_TRUE(line.starts_with(head) && line.ends_with("\"}")) << line;
  return line.substr(head.size(), line.size() - head.size() - 2);
}

TEST(FormatBounceRecord, EveryControlCharacter) {
  std::string controls;
  for (int c = 0; c < 0x20; ++c) controls += static_cast<char>(c);
  controls += '\x7f';
  EXPECT_EQ(diagnostic_json(controls),
            "\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
            "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d"
            "\\u001e\\u001f\x7f");
}

TEST(FormatBounceRecord, QuotesAndBackslashes) {
  EXPECT_EQ(diagnostic_json(R"(say "hi" to C:\dir\ and \\host / ok)"),
            R"(say \"hi\" to C:\\dir\\ and \\\\host / ok)");
  BounceRecord r;
  r.time = nov25();
  r.list = "a\"b";
  r.member = "\\";
  r.message_id = "<\"q\"@x>";
  EXPECT_EQ(format_bounce_record(r),
            R"({"time":"2026-11-25T10:00:00Z","list":"a\"b","member":"\\","diagnostic":"","message_id":"<\"q\"@x>"})");
}

TEST(FormatBounceRecord, Utf8) {
  const std::string valid = "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
  EXPECT_EQ(diagnostic_json(valid), valid);
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(diagnostic_json("a\xff" "b"), "a" + fffd + "b");
  EXPECT_EQ(diagnostic_json("\x80"), fffd);
  EXPECT_EQ(diagnostic_json("\xc0\xaf"), fffd + fffd);                         // overlong '/'
  EXPECT_EQ(diagnostic_json("\xe0\x80\xaf"), fffd + fffd + fffd);              // overlong, 3 bytes
  EXPECT_EQ(diagnostic_json("\xed\xa0\x80"), fffd + fffd + fffd);              // surrogate
  EXPECT_EQ(diagnostic_json("\xf4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // above U+10FFFF
  EXPECT_EQ(diagnostic_json("\xe2\x82x"), fffd + "x");                         // cut short: one U+FFFD
  EXPECT_EQ(diagnostic_json("x\xf0\x9f\x98"), "x" + fffd);                     // cut short at the end
  EXPECT_EQ(diagnostic_json("\xc3\"\xc3\xa9"), fffd + "\\\"\xc3\xa9");
}

// A fresh directory for one test, removed with its contents afterwards.
class BounceLogFile : public ::testing::Test {
 protected:
  void SetUp() override {
    old_umask_ = umask(022);
    std::string tmpl = ::testing::TempDir() + "bounce_log_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    umask(old_umask_);
    if (!dir_.empty()) std::system(concat({"rm -rf '", dir_, "'"}).c_str());
  }
  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static mode_t mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }
  std::string dir_;
  mode_t old_umask_ = 0;
};

TEST_F(BounceLogFile, AppendsOneLinePerRecord) {
  const std::string path = dir_ + "/bounces.jsonl";
  Result<std::unique_ptr<BounceLog>> log = BounceLog::open(path);
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_EQ((*log)->path(), path);
  BounceRecord r;
  r.time = nov25();
  r.list = "announce@lists.example.org";
  r.member = "alice@example.com";
  r.status = "5.1.1";
  r.diagnostic = "550 5.1.1 user unknown";
  ASSERT_TRUE((*log)->record(r).ok());
  r.time += 1h;
  r.member = "";
  r.status = "";
  r.diagnostic = "line 1\nline 2";
  r.message_id = "<m@x>";
  ASSERT_TRUE((*log)->record(r).ok());
  const std::string first =
      R"({"time":"2026-11-25T10:00:00Z","list":"announce@lists.example.org","member":"alice@example.com",)"
      R"("status":"5.1.1","diagnostic":"550 5.1.1 user unknown"})";
  const std::string second =
      R"({"time":"2026-11-25T11:00:00Z","list":"announce@lists.example.org","diagnostic":"line 1\nline 2",)"
      R"("message_id":"<m@x>"})";
  EXPECT_EQ(slurp(path), first + "\n" + second + "\n");
  EXPECT_EQ(mode_of(path), 0640u);

  // A second opening appends after what is there.
  log = BounceLog::open(path);
  ASSERT_TRUE(log.ok()) << log.error().message;
  ASSERT_TRUE((*log)->record(r).ok());
  EXPECT_EQ(slurp(path), first + "\n" + second + "\n" + second + "\n");
}

TEST_F(BounceLogFile, CreatesMissingDirectories) {
  const std::string path = dir_ + "/var//log/listgate/bounces.jsonl";
  Result<std::unique_ptr<BounceLog>> log = BounceLog::open(path);
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_EQ(mode_of(dir_ + "/var"), 0750u);
  EXPECT_EQ(mode_of(dir_ + "/var/log/listgate"), 0750u);
  BounceRecord r;
  r.time = nov25();
  ASSERT_TRUE((*log)->record(r).ok());
  EXPECT_EQ(slurp(path), R"({"time":"2026-11-25T10:00:00Z","list":"","diagnostic":""})" "\n");
}

TEST_F(BounceLogFile, UnwritablePathNamed) {
  // Root may write anywhere, so the path goes through a regular file instead.
  const std::string file = dir_ + "/plain";
  std::ofstream(file) << "x";
  const std::string path = file + "/sub/bounces.jsonl";
  Result<std::unique_ptr<BounceLog>> log = BounceLog::open(path);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.error().message.find(path), std::string::npos) << log.error().message;
  EXPECT_NE(log.error().message.find(std::strerror(ENOTDIR)), std::string::npos) << log.error().message;

  log = BounceLog::open(dir_);  // a directory is no log file
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.error().message.find(dir_), std::string::npos) << log.error().message;
  EXPECT_NE(log.error().message.find(std::strerror(EISDIR)), std::string::npos) << log.error().message;
}

TEST_F(BounceLogFile, WriteErrorNamed) {
  if (access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no /dev/full";
  Result<std::unique_ptr<BounceLog>> log = BounceLog::open("/dev/full");
  ASSERT_TRUE(log.ok()) << log.error().message;
  BounceRecord r;
  r.time = nov25();
  const Result<void> written = (*log)->record(r);
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message.find("/dev/full"), std::string::npos) << written.error().message;
  EXPECT_NE(written.error().message.find(std::strerror(ENOSPC)), std::string::npos) << written.error().message;
}

}  // namespace
}  // namespace listgate::delivery
