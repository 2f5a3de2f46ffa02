// address_test.cc - normalisation, splitting and syntax checks of address.h.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "listgate/table/address.h"

namespace listgate::table {
namespace {

struct Split {
  bool ok = false;
  std::string local;   // cut at the delimiter
  std::string domain;
  std::string head;
  std::optional<Suffix> suffix;
};

Split split(std::string_view address, char delimiter = '+') {
  RecipientBuffer buffer;
  ParsedRecipient parsed;
  Split out;
  out.ok = parse_recipient(address, delimiter, buffer, parsed);
  if (!out.ok) return out;
  out.local.assign(buffer.bytes, parsed.local_length);
  out.domain = std::string(parsed.domain);
  out.head.assign(buffer.bytes, parsed.head_length);
  out.suffix = parsed.suffix;
  return out;
}

TEST(ParseRecipient, PlainAddress) {
  const Split s = split("List@Example.ORG");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.local, "list");
  EXPECT_EQ(s.domain, "example.org");
  EXPECT_FALSE(s.suffix);
}

TEST(ParseRecipient, CutsAtTheFirstDelimiter) {
  const Split s = split("list-bounces+alice=example.org+more@d.example");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.local, "list-bounces");
  EXPECT_EQ(s.head, "list");
  EXPECT_EQ(s.suffix, Suffix::bounces);
}

TEST(ParseRecipient, SplitsAtTheLastDash) {
  const Split s = split("my-big-list-owner@d.example");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.head, "my-big-list");
  EXPECT_EQ(s.suffix, Suffix::owner);
}

TEST(ParseRecipient, EverySuffixWord) {
  const std::pair<const char*, Suffix> words[] = {
      {"bounces", Suffix::bounces}, {"confirm", Suffix::confirm},   {"join", Suffix::join},
      {"leave", Suffix::leave},     {"owner", Suffix::owner},       {"request", Suffix::request},
      {"subscribe", Suffix::subscribe}, {"unsubscribe", Suffix::unsubscribe}};
  for (const auto& [word, suffix] : words) {
    SCOPED_TRACE(word);
    const Split s = split("list-" + std::string(word) + "@d.example");
    ASSERT_TRUE(s.ok);
    EXPECT_EQ(s.suffix, suffix);
    EXPECT_EQ(s.head, "list");
    EXPECT_EQ(suffix_name(suffix), word);
  }
  EXPECT_EQ(role_of(Suffix::subscribe), Role::join);
  EXPECT_EQ(role_of(Suffix::unsubscribe), Role::leave);
  EXPECT_TRUE(role_needs_backend(Role::request));
  EXPECT_TRUE(role_needs_backend(Role::confirm));
  EXPECT_FALSE(role_needs_backend(Role::owner));
  EXPECT_FALSE(role_needs_backend(Role::bounces));
  EXPECT_FALSE(role_needs_backend(Role::posting));
}

TEST(ParseRecipient, NoSuffixWithoutHeadOrWithOtherWord) {
  EXPECT_FALSE(split("-owner@d.example").suffix);
  EXPECT_FALSE(split("owner@d.example").suffix);
  EXPECT_FALSE(split("list-owners@d.example").suffix);
  EXPECT_FALSE(split("list-@d.example").suffix);
  EXPECT_FALSE(split("list-own@d.example").suffix);
  // The suffix is looked for after the cut, not in the tag.
  EXPECT_FALSE(split("list+x-owner@d.example").suffix);
  EXPECT_EQ(split("list-owner+x-y@d.example").suffix, Suffix::owner);
}

TEST(ParseRecipient, RefusesWhatIsNotLocalAtDomain) {
  EXPECT_FALSE(split("").ok);
  EXPECT_FALSE(split("plain").ok);
  EXPECT_FALSE(split("@d.example").ok);
  EXPECT_FALSE(split("list@").ok);
  EXPECT_FALSE(split("a@b@c").ok);
  EXPECT_FALSE(split(std::string(kMaxAddressLength + 1, 'a')).ok);
  EXPECT_TRUE(split(std::string(kMaxAddressLength - 2, 'a') + "@d").ok);
}

TEST(ParseRecipient, ControlCharactersAnywhereAreRefused) {
  // Every position, so every lane of the 8-byte scan and the partial word.
  const std::string address = "some-list-name-owner@lists.example.org";
  for (const char bad : {'\0', '\t', '\n', '\r', ' ', '\x7f', '\x01', '\x1f'}) {
    for (size_t i = 0; i < address.size(); ++i) {
      std::string changed = address;
      changed[i] = bad;
      ASSERT_FALSE(split(changed).ok) << "byte " << int(bad) << " at " << i;
    }
  }
  // Bytes above 0x7f are UTF-8, not control characters.
  EXPECT_TRUE(split("caf\xc3\xa9@d.example").ok);
  EXPECT_TRUE(split("\xff\xfe@d.example").ok);
}

TEST(LowercaseAscii, MatchesTheByteByByteDefinition) {
  std::mt19937 rng(1);
  for (size_t length = 0; length <= 40; ++length) {
    for (int round = 0; round < 200; ++round) {
      std::string text(length, '\0');
      for (char& c : text) c = static_cast<char>(rng());
      std::string expected = text;
      for (char& c : expected) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
      }
      lowercase_ascii(text.data(), text.size());
      ASSERT_EQ(text, expected);
    }
  }
  // The edges of the letter range.
  std::string edges = "@AZ[`az{\xc1\xda";
  lowercase_ascii(edges.data(), edges.size());
  EXPECT_EQ(edges, "@az[`az{\xc1\xda");
}

TEST(ParseRecipient, LowercasesLikeTheScalarDefinitionAtEveryLength) {
  std::mt19937 rng(2);
  const std::string alphabet = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789.!#Z";
  for (size_t length = 1; length <= 60; ++length) {
    std::string local(length, 'a');
    for (char& c : local) c = alphabet[rng() % alphabet.size()];
    const std::string address = local + "@EXAMPLE.Org";
    std::string expected = local;
    for (char& c : expected) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const Split s = split(address);
    ASSERT_TRUE(s.ok);
    EXPECT_EQ(s.local, expected);
    EXPECT_EQ(s.domain, "example.org");
  }
}

TEST(VerpTag, TagAfterTheFirstDelimiter) {
  EXPECT_EQ(verp_tag("list-bounces+alice=example.org@dom", '+'), "alice=example.org");
  EXPECT_EQ(verp_tag("list-confirm+ABCdef@dom", '+'), "ABCdef");
  EXPECT_EQ(verp_tag("list+a+b@dom", '+'), "a+b");
  EXPECT_EQ(verp_tag("list@dom", '+'), "");
  EXPECT_EQ(verp_tag("list@dom+x", '+'), "");
  EXPECT_EQ(verp_tag("list+x", '+'), "");
  EXPECT_EQ(verp_tag("list-bounces=alice@dom", '='), "alice");
}

TEST(Syntax, LocalParts) {
  EXPECT_TRUE(is_valid_local_part("list"));
  EXPECT_TRUE(is_valid_local_part("a.b-c_d+e"));
  EXPECT_TRUE(is_valid_local_part("-bounces"));
  EXPECT_TRUE(is_valid_local_part("caf\xc3\xa9"));
  EXPECT_FALSE(is_valid_local_part(""));
  EXPECT_FALSE(is_valid_local_part(".a"));
  EXPECT_FALSE(is_valid_local_part("a."));
  EXPECT_FALSE(is_valid_local_part("a..b"));
  EXPECT_FALSE(is_valid_local_part("a b"));
  EXPECT_FALSE(is_valid_local_part("a\"b"));
  EXPECT_FALSE(is_valid_local_part("a(b)"));
  EXPECT_FALSE(is_valid_local_part("a@b"));
}

TEST(Syntax, Domains) {
  EXPECT_TRUE(is_valid_domain("example.org"));
  EXPECT_TRUE(is_valid_domain("localhost"));
  EXPECT_TRUE(is_valid_domain("a-b_c.example"));
  EXPECT_FALSE(is_valid_domain(""));
  EXPECT_FALSE(is_valid_domain("example..org"));
  EXPECT_FALSE(is_valid_domain(".example.org"));
  EXPECT_FALSE(is_valid_domain("example.org."));
  EXPECT_FALSE(is_valid_domain("exa mple.org"));
  EXPECT_FALSE(is_valid_domain("[192.0.2.1]"));
  EXPECT_FALSE(is_valid_domain(std::string(64, 'a') + ".org"));
  EXPECT_TRUE(is_valid_domain(std::string(63, 'a') + ".org"));
}

TEST(Syntax, Mailboxes) {
  EXPECT_TRUE(is_valid_mailbox("alice@example.com"));
  EXPECT_TRUE(is_valid_mailbox("Bob.Smith+tag@Example.NET"));
  EXPECT_TRUE(is_valid_mailbox("\"john doe\"@example.com"));
  EXPECT_TRUE(is_valid_mailbox("\"a@b\"@example.com"));
  EXPECT_TRUE(is_valid_mailbox("\"a\\\"b\"@example.com"));
  EXPECT_TRUE(is_valid_mailbox("user@[192.0.2.1]"));
  EXPECT_TRUE(is_valid_mailbox("user@[IPv6:2001:db8::1]"));
  EXPECT_FALSE(is_valid_mailbox("alice"));
  EXPECT_FALSE(is_valid_mailbox("@example.com"));
  EXPECT_FALSE(is_valid_mailbox("alice@"));
  EXPECT_FALSE(is_valid_mailbox("a@b@c"));
  EXPECT_FALSE(is_valid_mailbox("al ice@example.com"));
  EXPECT_FALSE(is_valid_mailbox("\"unterminated@example.com"));
  EXPECT_FALSE(is_valid_mailbox("\"a\\\"@example.com"));
  EXPECT_FALSE(is_valid_mailbox("user@[]"));
  EXPECT_FALSE(is_valid_mailbox(std::string(kMaxAddressLength, 'a') + "@x"));
}

TEST(Syntax, VerpDelimiters) {
  EXPECT_TRUE(is_valid_verp_delimiter('+'));
  EXPECT_TRUE(is_valid_verp_delimiter('='));
  EXPECT_TRUE(is_valid_verp_delimiter('-'));
  EXPECT_FALSE(is_valid_verp_delimiter('a'));
  EXPECT_FALSE(is_valid_verp_delimiter('Z'));
  EXPECT_FALSE(is_valid_verp_delimiter('5'));
  EXPECT_FALSE(is_valid_verp_delimiter('@'));
  EXPECT_FALSE(is_valid_verp_delimiter(' '));
  EXPECT_FALSE(is_valid_verp_delimiter('\0'));
}

}  // namespace
}  // namespace listgate::table
