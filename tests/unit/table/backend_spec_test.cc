// backend_spec_test.cc - the three backend forms and what is refused.
#include <gtest/gtest.h>

#include "listgate/table/backend_spec.h"

namespace listgate::table {
namespace {

TEST(BackendSpec, LmtpTcp) {
  const Result<BackendSpec> spec = parse_backend_spec("lmtp:[127.0.0.1]:8025");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->protocol, BackendSpec::Protocol::lmtp);
  EXPECT_EQ(spec->transport, BackendSpec::Transport::tcp);
  EXPECT_EQ(spec->host, "127.0.0.1");
  EXPECT_EQ(spec->port, 8025);
  EXPECT_TRUE(spec->path.empty());
}

TEST(BackendSpec, LmtpUnix) {
  const Result<BackendSpec> spec = parse_backend_spec("lmtp:unix:/var/run/mailman/lmtp.sock");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->protocol, BackendSpec::Protocol::lmtp);
  EXPECT_EQ(spec->transport, BackendSpec::Transport::unix_socket);
  EXPECT_EQ(spec->path, "/var/run/mailman/lmtp.sock");
}

TEST(BackendSpec, SmtpTcpWithNamesAndIpv6) {
  const Result<BackendSpec> name = parse_backend_spec("smtp:[mail.example.org]:25");
  ASSERT_TRUE(name.ok()) << name.error().message;
  EXPECT_EQ(name->protocol, BackendSpec::Protocol::smtp);
  EXPECT_EQ(name->host, "mail.example.org");
  EXPECT_EQ(name->port, 25);
  const Result<BackendSpec> v6 = parse_backend_spec("lmtp:[::1]:24");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  const Result<BackendSpec> tagged = parse_backend_spec("LMTP:[IPv6:2001:db8::1]:24");
  ASSERT_TRUE(tagged.ok());
  EXPECT_EQ(tagged->host, "2001:db8::1");
  EXPECT_EQ(tagged->protocol, BackendSpec::Protocol::lmtp);
}

TEST(BackendSpec, FormatRoundTrips) {
  for (const char* text : {"lmtp:[127.0.0.1]:8025", "lmtp:unix:/run/x", "smtp:[::1]:2525"}) {
    const Result<BackendSpec> spec = parse_backend_spec(text);
    ASSERT_TRUE(spec.ok()) << text;
    EXPECT_EQ(format_backend_spec(spec.value()), text);
    const Result<BackendSpec> again = parse_backend_spec(format_backend_spec(spec.value()));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(spec.value(), again.value());
  }
}

TEST(BackendSpec, Refused) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "backend must be"},
      {"http://example.org", "backend must be"},
      {"lmtp:127.0.0.1:8025", "in brackets"},
      {"lmtp:[127.0.0.1", "closing ']'"},
      {"lmtp:[]:25", "host is empty"},
      {"lmtp:[a b]:25", "invalid character"},
      {"lmtp:[127.0.0.1]", "needs a port"},
      {"lmtp:[127.0.0.1]:", "port must be"},
      {"lmtp:[127.0.0.1]:0", "port must be"},
      {"lmtp:[127.0.0.1]:65536", "port must be"},
      {"lmtp:[127.0.0.1]:25x", "port must be"},
      {"lmtp:[127.0.0.1]:-1", "port must be"},
      {"lmtp:unix:relative/path", "absolute"},
      {"lmtp:unix:", "absolute"},
      {"smtp:unix:/run/x", "must be lmtp"},
  };
  for (const auto& [text, phrase] : cases) {
    SCOPED_TRACE(text);
    const Result<BackendSpec> spec = parse_backend_spec(text);
    ASSERT_FALSE(spec.ok());
    EXPECT_NE(spec.error().message.find(phrase), std::string::npos) << spec.error().message;
  }
  EXPECT_FALSE(parse_backend_spec("lmtp:unix:/" + std::string(107, 'x')).ok());
  EXPECT_TRUE(parse_backend_spec("lmtp:unix:/" + std::string(106, 'x')).ok());
}

}  // namespace
}  // namespace listgate::table
