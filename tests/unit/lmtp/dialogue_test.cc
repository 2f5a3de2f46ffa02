// dialogue_test.cc - runs every tests/dialogues/NAME.in against NAME.out.
//
// Each dialogue is fed whole, byte by byte and in random splits; the server
// output must equal NAME.out every time, and the transactions handed out
// must be the same whatever the split. The file format is described in
// tests/dialogues/README.md; the fixed table and limits are in harness.h.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../../support/dialogue_text.h"
#include "harness.h"

#ifndef LISTGATE_DIALOGUE_DIR
#error "LISTGATE_DIALOGUE_DIR must name tests/dialogues"
#endif

namespace listgate::lmtp {
namespace {

using test_support::decode;
using test_support::read_file;

using lmtp_test::Step;

constexpr size_t kMinDialogues = 12;
constexpr uint32_t kRandomSplits = 12;

struct Parsed {
  std::vector<Step> steps;
  bool ok = true;
};

// Turns a dialogue file into steps: bytes with CRLF line ends, and events.
Parsed parse_dialogue(const std::string& file) {
  Parsed p;
  std::string bytes;
  auto flush = [&] {
    if (!bytes.empty()) p.steps.push_back(Step{Step::Kind::bytes, std::move(bytes)});
    bytes.clear();
  };
  std::istringstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("@@")) {
      const std::string_view directive = std::string_view(line).substr(2);
      if (directive.starts_with("#")) continue;
      flush();
      if (directive == "idle") {
        p.steps.push_back(Step{Step::Kind::idle, {}});
      } else if (directive == "shutdown") {
        p.steps.push_back(Step{Step::Kind::shutdown, {}});
      } else {
        p.ok = false;
      }
      continue;
    }
    bool join = false;
    if (!decode(line, bytes, join)) p.ok = false;
    if (!join) bytes += "\r\n";
  }
  flush();
  return p;
}

std::string concat(const std::vector<Step>& steps) {
  std::string s;
  for (const Step& st : steps) s += st.bytes;
  return s;
}

std::vector<std::string> dialogue_names() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(LISTGATE_DIALOGUE_DIR)) {
    if (e.path().extension() == ".in") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// gtest prints the readable bytes of a failed comparison; make CR/LF visible.
std::string visible(const std::string& s) {
  std::string v;
  for (char c : s) {
    if (c == '\r') v += "\\r";
    else if (c == '\n') v += "\\n\n";
    else v += c;
  }
  return v;
}

class Dialogue : public ::testing::TestWithParam<std::string> {};

TEST_P(Dialogue, MatchesExpectedOutputInEverySplit) {
  const std::filesystem::path dir(LISTGATE_DIALOGUE_DIR);
  const Parsed in = parse_dialogue(read_file(dir / (GetParam() + ".in")));
  const Parsed out = parse_dialogue(read_file(dir / (GetParam() + ".out")));
  ASSERT_TRUE(in.ok) << "bad escape or directive in " << GetParam() << ".in";
  ASSERT_TRUE(out.ok) << "bad escape in " << GetParam() << ".out";
  const std::string expected = concat(out.steps);

  const lmtp_test::SessionRun whole = lmtp_test::run_steps(in.steps, lmtp_test::whole());
  EXPECT_EQ(visible(whole.output), visible(expected)) << "fed whole";
  EXPECT_TRUE(whole.chain_ok);
  EXPECT_EQ(whole.counters.body_bytes_copied, 0u);

  const lmtp_test::SessionRun bytes = lmtp_test::run_steps(in.steps, lmtp_test::bytewise());
  EXPECT_EQ(visible(bytes.output), visible(expected)) << "fed byte by byte";
  EXPECT_EQ(bytes.transactions, whole.transactions);

  for (uint32_t seed = 1; seed <= kRandomSplits; ++seed) {
    const lmtp_test::SessionRun r = lmtp_test::run_steps(in.steps, lmtp_test::random_splits(seed * 7919, 3 + seed * 11));
    EXPECT_EQ(visible(r.output), visible(expected)) << "random split seed " << seed;
    EXPECT_EQ(r.transactions, whole.transactions) << "random split seed " << seed;
    EXPECT_TRUE(r.chain_ok);
  }
}

INSTANTIATE_TEST_SUITE_P(Files, Dialogue, ::testing::ValuesIn(dialogue_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(DialogueFiles, EnoughDialoguesWithExpectedOutput) {
  const std::vector<std::string> names = dialogue_names();
  EXPECT_GE(names.size(), kMinDialogues);
  for (const std::string& n : names) {
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(LISTGATE_DIALOGUE_DIR) / (n + ".out"))) << n;
  }
}

TEST(DialogueFormat, Escapes) {
  const Parsed p = parse_dialogue("a\\rb\\nc\\\\d\\x41\n\\{ab*3}\\\nX\n@@idle\n@@# note\nY\n");
  ASSERT_TRUE(p.ok);
  ASSERT_EQ(p.steps.size(), 3u);
  EXPECT_EQ(p.steps[0].bytes, "a\rb\nc\\dA\r\nabababX\r\n");
  EXPECT_EQ(p.steps[1].kind, Step::Kind::idle);
  EXPECT_EQ(p.steps[2].bytes, "Y\r\n");
  EXPECT_FALSE(parse_dialogue("\\q\n").ok);
  EXPECT_FALSE(parse_dialogue("@@nonsense\n").ok);
}

}  // namespace
}  // namespace listgate::lmtp
