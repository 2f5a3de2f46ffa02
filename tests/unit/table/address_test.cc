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

using ParseFunction = ParsedRecipient (*)(std::string_view, char) noexcept;

Split split_with(ParseFunction parse, std::string_view address, char delimiter) {
  const ParsedRecipient parsed = parse(address, delimiter);
  Split out;
  out.ok = parsed.ok();
  if (!out.ok) return out;
  out.local = std::string(parsed.local(address));
  out.domain = std::string(parsed.domain(address));
  out.head = std::string(address.substr(0, parsed.head_length()));
  out.suffix = parsed.suffix();
  return out;
}

bool operator==(const Split& a, const Split& b) {
  return a.ok == b.ok && a.local == b.local && a.domain == b.domain && a.head == b.head &&
         a.suffix == b.suffix;
}

// Every implementation must agree; the answer is the first one's.
Split split(std::string_view address, char delimiter = '+') {
  const Split portable = split_with(&detail::parse_recipient_portable, address, delimiter);
#if defined(__SSE2__)
  const Split sse2 = split_with(&detail::parse_recipient_sse2, address, delimiter);
  EXPECT_TRUE(portable == sse2) << "implementations disagree on " << address;
#endif
  const Split chosen = split_with(&parse_recipient, address, delimiter);
  EXPECT_TRUE(portable == chosen) << "parse_recipient disagrees on " << address;
  return portable;
}

TEST(ParseRecipient, PlainAddressKeepsItsCase) {
  // Nothing is copied or lower-cased: the lookups fold case as they read.
  const Split s = split("List@Example.ORG");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.local, "List");
  EXPECT_EQ(s.domain, "Example.ORG");
  EXPECT_FALSE(s.suffix);
}

TEST(ParseRecipient, SuffixWordsInAnyCase) {
  EXPECT_EQ(split("list-OWNER@d").suffix, Suffix::owner);
  EXPECT_EQ(split("list-UnSubScribe@d").suffix, Suffix::unsubscribe);
  EXPECT_EQ(split("LIST-Bounces+X@d").head, "LIST");
}

TEST(ClassifySuffix, TheWordInAnyCaseAndNothingElse) {
  // classify_suffix folds case by OR-ing 0x20 into whole words; change each
  // byte of each word to every other value: only the letter's two cases
  // may still match.
  for (int index = 0; index < kSuffixCount; ++index) {
    const auto suffix = static_cast<Suffix>(index);
    const std::string word(suffix_name(suffix));
    ASSERT_EQ(classify_suffix(word), suffix);
    for (size_t i = 0; i < word.size(); ++i) {
      for (int byte = 0; byte < 256; ++byte) {
        std::string changed = word;
        changed[i] = static_cast<char>(byte);
        const bool same_letter = byte == word[i] || byte == word[i] - ('a' - 'A');
        ASSERT_EQ(classify_suffix(changed) == suffix, same_letter) << word << " byte " << byte;
      }
    }
    EXPECT_FALSE(classify_suffix(word.substr(1)));
    EXPECT_FALSE(classify_suffix(word + "s"));
  }
  EXPECT_FALSE(classify_suffix(""));
  EXPECT_FALSE(classify_suffix("owners"));
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

TEST(ParseRecipient, EveryLengthAndEveryPosition) {
  // Addresses of every length from 3 to 320 octets, with the '@', the
  // delimiter and a role suffix at every offset the length allows: both
  // implementations must agree with the obvious byte-by-byte reading.
  for (size_t length = 3; length <= kMaxAddressLength; length += (length < 80 ? 1 : 7)) {
    for (size_t at = 1; at + 1 < length; at += (at < 40 ? 1 : 13)) {
      std::string address(length, 'x');
      address[at] = '@';
      const size_t delimiter = at / 2;
      if (delimiter > 0) address[delimiter] = '+';
      if (at >= 9 && delimiter == 0) address.replace(at - 6, 6, "-owner");
      const Split s = split(address);
      ASSERT_TRUE(s.ok) << address;
      const size_t cut = delimiter > 0 ? delimiter : at;
      ASSERT_EQ(s.local, address.substr(0, cut));
      ASSERT_EQ(s.domain, address.substr(at + 1));
    }
  }
}

TEST(ParseRecipient, ImplementationsAgreeOnRandomAddresses) {
  // Short alphabets make '@', '-', '+' and the suffix words frequent, at
  // every offset and every length, so all the lanes and tails are covered.
  std::mt19937 rng(3);
  const std::string pieces[] = {"a", "B", "-", "+", "@", ".", "owner", "-bounces", "-Request",
                                "x", "\xc3\xa9", " ", "\x01", "\x7f", "=", "Z", "9", "-join"};
  size_t accepted = 0;
  size_t with_suffix = 0;
  for (int round = 0; round < 200'000; ++round) {
    std::string address;
    const size_t target = 1 + rng() % 70;
    while (address.size() < target) address += pieces[rng() % std::size(pieces)];
    if (rng() % 8 == 0) address.resize(std::min<size_t>(kMaxAddressLength, 250 + rng() % 80), 'q');
    const Split s = split(address, rng() % 4 == 0 ? '=' : '+');
    accepted += s.ok ? 1 : 0;
    with_suffix += s.suffix ? 1 : 0;
  }
  // The generator must reach both sides of every decision.
  EXPECT_GT(accepted, 3'000u);
  EXPECT_GT(with_suffix, 300u);
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
