// smtp_extensions_test.cc - EHLO/LHLO keyword parsing and the AUTH helpers.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "listgate/delivery/smtp_auth.h"
#include "listgate/delivery/smtp_extensions.h"

namespace listgate::delivery {
namespace {

TEST(Extensions, AllKnownKeywords) {
  const std::vector<std::string> lines = {"mx.example.org greets you", "PIPELINING", "SIZE 10240000",
                                          "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING",
                                          "XVERP", "AUTH PLAIN LOGIN CRAM-MD5", "DSN", "ETRN"};
  const Extensions e = parse_extensions(lines);
  EXPECT_TRUE(e.pipelining);
  EXPECT_TRUE(e.size);
  EXPECT_EQ(e.size_limit, 10240000u);
  EXPECT_TRUE(e.eightbitmime);
  EXPECT_TRUE(e.smtputf8);
  EXPECT_TRUE(e.enhanced_status_codes);
  EXPECT_TRUE(e.chunking);
  EXPECT_TRUE(e.xverp);
  EXPECT_EQ(e.auth, (std::vector<std::string>{"PLAIN", "LOGIN", "CRAM-MD5"}));
  EXPECT_TRUE(e.offers_auth("plain"));
  EXPECT_FALSE(e.offers_auth("XOAUTH2"));
}

TEST(Extensions, FirstLineIsTheServerNameNotAKeyword) {
  const Extensions e = parse_extensions(std::vector<std::string>{"PIPELINING"});
  EXPECT_FALSE(e.pipelining);
}

TEST(Extensions, CaseInsensitiveAndOldAuthSpelling) {
  const Extensions e =
      parse_extensions(std::vector<std::string>{"mx", "pipelining", "Size", "AUTH=LOGIN", "auth login plain"});
  EXPECT_TRUE(e.pipelining);
  EXPECT_TRUE(e.size);
  EXPECT_EQ(e.size_limit, 0u);
  EXPECT_EQ(e.auth, (std::vector<std::string>{"LOGIN", "PLAIN"}));
}

TEST(Extensions, SizeParameterEdgeCases) {
  EXPECT_EQ(parse_extensions(std::vector<std::string>{"mx", "SIZE abc"}).size_limit, 0u);
  EXPECT_EQ(parse_extensions(std::vector<std::string>{"mx", "SIZE 0"}).size_limit, 0u);
  EXPECT_EQ(parse_extensions(std::vector<std::string>{"mx", "SIZE 99999999999999999999999"}).size_limit,
            std::numeric_limits<uint64_t>::max());
}

TEST(Extensions, NothingOffered) {
  const Extensions e = parse_extensions(std::vector<std::string>{"mx"});
  EXPECT_FALSE(e.pipelining || e.size || e.eightbitmime || e.smtputf8 || e.xverp || e.chunking);
  EXPECT_TRUE(e.auth.empty());
}

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(Auth, PlainResponse) {
  // RFC 4616 example shape: NUL user NUL password.
  EXPECT_EQ(auth_plain_response("tim", "tanstaaftanstaaf"), "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
}

TEST(Auth, PlainIsPreferredOverLogin) {
  Extensions e;
  EXPECT_EQ(choose_auth(e), AuthMechanism::none);
  e.auth = {"LOGIN"};
  EXPECT_EQ(choose_auth(e), AuthMechanism::login);
  e.auth = {"CRAM-MD5", "LOGIN", "PLAIN"};
  EXPECT_EQ(choose_auth(e), AuthMechanism::plain);
  e.auth = {"CRAM-MD5"};
  EXPECT_EQ(choose_auth(e), AuthMechanism::none);
}

}  // namespace
}  // namespace listgate::delivery
