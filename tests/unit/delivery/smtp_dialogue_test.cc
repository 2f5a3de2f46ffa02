// smtp_dialogue_test.cc - runs every tests/dialogues/smtp/*.dlg against the client.
//
// A dialogue scripts the server (S:), says what the client must have sent by
// then (C:) and what it must report (R:, @state, @failure, @copied); the
// format is in tests/dialogues/smtp/README.md. Each file runs with the
// server's bytes fed whole, byte by byte and in random splits, and with the
// job bodies sliced as written, as one slice and in 3-byte slices: every run
// must meet the expectations and produce the same bytes and results.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "../../support/dialogue_text.h"
#include "smtp_harness.h"

#ifndef LISTGATE_SMTP_DIALOGUE_DIR
#error "LISTGATE_SMTP_DIALOGUE_DIR must name tests/dialogues/smtp"
#endif

namespace listgate::delivery {
namespace {

using test_support::decode;
using test_support::read_file;

using smtp_test::Driver;
using smtp_test::Splitter;
using smtp_test::visible;

constexpr size_t kMinDialogues = 20;
constexpr uint32_t kRandomSplits = 10;
constexpr size_t kTinySlice = 3;

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> w;
  std::istringstream in{std::string(s)};
  std::string x;
  while (in >> x) w.push_back(x);
  return w;
}

struct JobSpec {
  Job job;
  std::deque<std::string> addresses;     // what job.recipients view
  std::vector<std::string> body_pieces;  // one per B: line
};

// One step of a dialogue.
struct Step {
  enum class Kind { server, client, connect, submit, lost, quit, state, failure, copied, can_submit } kind;
  std::string bytes;  // server, client: the bytes; state: the name; failure: "CODE ENH"
  uint64_t number = 0;  // submit: the job id; copied: the count; can_submit: 1 for yes
};

struct Dialogue {
  ClientConfig config;
  std::map<uint64_t, JobSpec> jobs;
  std::vector<Step> steps;
  std::vector<std::string> results;  // "ID ADDRESS CODE ENH TEXT", one per recipient
  std::vector<std::string> errors;
};

// Parses a .dlg file; consecutive S: lines make one step, as do C: lines.
Dialogue parse(const std::string& file) {
  Dialogue d;
  d.config.helo_name = "gw.example.org";
  std::istringstream in(file);
  std::string raw;
  JobSpec* current = nullptr;
  size_t line_no = 0;
  auto bad = [&](const std::string& why) { d.errors.push_back("line " + std::to_string(line_no) + ": " + why); };
  while (std::getline(in, raw)) {
    ++line_no;
    if (raw.empty() || raw[0] == '#') continue;
    if (raw.size() >= 2 && raw[1] == ':') {
      std::string_view text = std::string_view(raw).substr(2);
      if (!text.empty() && text[0] == ' ') text.remove_prefix(1);
      const char tag = raw[0];
      if (tag == 'R') {
        d.results.emplace_back(text);
        continue;
      }
      std::string bytes;
      bool join = false;
      if (!decode(text, bytes, join)) bad("bad escape");
      if (!join) bytes += "\r\n";
      if (tag == 'S' || tag == 'C') {
        const Step::Kind k = tag == 'S' ? Step::Kind::server : Step::Kind::client;
        if (d.steps.empty() || d.steps.back().kind != k) d.steps.push_back(Step{k, {}, 0});
        d.steps.back().bytes += bytes;
      } else if (tag == 'B' || tag == 'H') {
        if (current == nullptr) {
          bad("B:/H: before @job");
        } else if (tag == 'B') {
          current->body_pieces.push_back(bytes);
        } else {
          current->job.header_prefix += bytes;
        }
      } else {
        bad("unknown tag");
      }
      continue;
    }
    if (raw[0] != '@') {
      bad("not a step: " + raw);
      continue;
    }
    const std::vector<std::string> w = words(std::string_view(raw).substr(1));
    if (w.empty()) {
      bad("empty directive");
      continue;
    }
    const std::string& verb = w[0];
    if (verb == "config" && w.size() >= 2) {
      if (w[1] == "lmtp") {
        d.config.protocol = Protocol::lmtp;
      } else if (w[1] == "auth" && w.size() == 4) {
        d.config.auth_user = w[2];
        d.config.auth_password = w[3];
      } else if (w[1] == "max_transactions" && w.size() == 3) {
        d.config.max_transactions = static_cast<uint32_t>(std::stoul(w[2]));
      } else if (w[1] == "pipeline_depth" && w.size() == 3) {
        d.config.pipeline_depth = static_cast<uint32_t>(std::stoul(w[2]));
      } else if (w[1] == "helo" && w.size() == 3) {
        d.config.helo_name = w[2];
      } else {
        bad("bad @config");
      }
    } else if (verb == "job" && w.size() >= 4) {
      const uint64_t id = std::stoull(w[1]);
      JobSpec& spec = d.jobs[id];
      spec.job.id = id;
      spec.job.sender = w[2] == "<>" ? "" : w[2];
      std::string rcpts = w[3];
      size_t at = 0;
      while (at <= rcpts.size()) {
        const size_t comma = rcpts.find(',', at);
        spec.job.recipients.push_back(
            spec.addresses.emplace_back(rcpts.substr(at, comma == std::string::npos ? std::string::npos : comma - at)));
        if (comma == std::string::npos) break;
        at = comma + 1;
      }
      for (size_t i = 4; i < w.size(); ++i) {
        if (w[i] == "8bit") {
          spec.job.body_8bit = true;
        } else if (w[i] == "smtputf8") {
          spec.job.smtputf8 = true;
        } else if (w[i] == "bare") {
          spec.job.bare_newlines = true;
        } else if (w[i] == "xverp") {
          spec.job.xverp = true;
        } else {
          bad("unknown job flag " + w[i]);
        }
      }
      current = &spec;
    } else if (verb == "connect" && w.size() == 1) {
      d.steps.push_back(Step{Step::Kind::connect, {}, 0});
    } else if (verb == "submit" && w.size() == 2) {
      d.steps.push_back(Step{Step::Kind::submit, {}, std::stoull(w[1])});
    } else if (verb == "lost" && w.size() == 1) {
      d.steps.push_back(Step{Step::Kind::lost, {}, 0});
    } else if (verb == "quit" && w.size() == 1) {
      d.steps.push_back(Step{Step::Kind::quit, {}, 0});
    } else if (verb == "state" && w.size() == 2) {
      d.steps.push_back(Step{Step::Kind::state, w[1], 0});
    } else if (verb == "failure" && w.size() == 3) {
      d.steps.push_back(Step{Step::Kind::failure, w[1] + " " + w[2], 0});
    } else if (verb == "can_submit" && w.size() == 2 && (w[1] == "yes" || w[1] == "no")) {
      d.steps.push_back(Step{Step::Kind::can_submit, {}, w[1] == "yes" ? 1u : 0u});
    } else if (verb == "copied" && w.size() == 2) {
      d.steps.push_back(Step{Step::Kind::copied, {}, std::stoull(w[1])});
    } else {
      bad("unknown directive " + raw);
    }
  }
  return d;
}

enum class Slicing { as_written, single, tiny };

struct Played {
  std::string output;
  std::vector<std::string> results;
  std::vector<std::string> errors;
};

std::string describe(const JobResult& r, const Job& job, size_t i) {
  const Reply& x = r.recipients[i];
  std::string s = std::to_string(r.id) + " " + std::string(job.recipients[i]) + " " + std::to_string(x.code) + " " +
                  (x.enhanced.empty() ? "-" : x.enhanced);
  if (!x.text.empty()) s += " " + x.text;
  return s;
}

Played play(const Dialogue& d, const Splitter& split, Slicing slicing) {
  Played run;
  io::BufferPool pool(4096, 8);
  std::map<uint64_t, io::SliceChain> bodies;
  Driver drv(d.config);
  for (const auto& [id, spec] : d.jobs) {
    std::string all;
    std::vector<size_t> cuts;
    for (const std::string& p : spec.body_pieces) {
      all += p;
      cuts.push_back(p.size());
    }
    if (slicing == Slicing::single) cuts.clear();
    if (slicing == Slicing::tiny) cuts.assign(all.size() / kTinySlice + 1, kTinySlice);
    bodies[id] = smtp_test::chain_of(pool, all, cuts);
    drv.track(bodies[id]);
  }
  std::string unchecked;
  auto drain = [&] {
    unchecked += drv.output();
    for (const JobResult& r : drv.results()) {
      const Job& job = d.jobs.at(r.id).job;
      for (size_t i = 0; i < r.recipients.size(); ++i) run.results.push_back(describe(r, job, i));
    }
  };
  auto nothing_unchecked = [&](const std::string& before) {
    if (!unchecked.empty()) run.errors.push_back("client sent, unexpected before " + before + ":\n" + visible(unchecked));
    unchecked.clear();
  };
  for (const Step& s : d.steps) {
    drain();
    switch (s.kind) {
      case Step::Kind::client:
        if (!unchecked.starts_with(s.bytes)) {
          run.errors.push_back("client should have sent:\n" + visible(s.bytes) + "but sent:\n" + visible(unchecked));
          unchecked.clear();
        } else {
          unchecked.erase(0, s.bytes.size());
        }
        break;
      case Step::Kind::server:
        nothing_unchecked("S: " + visible(s.bytes.substr(0, 40)));
        drv.feed(s.bytes, split);
        break;
      case Step::Kind::connect:
        nothing_unchecked("@connect");
        drv.client().connected();
        break;
      case Step::Kind::submit: {
        nothing_unchecked("@submit");
        auto it = d.jobs.find(s.number);
        if (it == d.jobs.end()) {
          run.errors.push_back("no such job");
          break;
        }
        Job job = it->second.job;
        job.body = it->second.body_pieces.empty() ? nullptr : &bodies[s.number];
        const Result<void> r = drv.client().submit(std::move(job));
        if (!r.ok()) run.errors.push_back("submit refused: " + r.error().message);
        break;
      }
      case Step::Kind::lost:
        nothing_unchecked("@lost");
        drv.client().connection_lost();
        break;
      case Step::Kind::quit:
        nothing_unchecked("@quit");
        drv.client().quit();
        break;
      case Step::Kind::state:
        nothing_unchecked("@state");
        if (to_string(drv.client().state()) != s.bytes) {
          run.errors.push_back("state is " + std::string(to_string(drv.client().state())) + ", expected " + s.bytes);
        }
        break;
      case Step::Kind::failure: {
        const Reply& f = drv.client().failure();
        const std::string got = std::to_string(f.code) + " " + (f.enhanced.empty() ? "-" : f.enhanced);
        if (got != s.bytes) run.errors.push_back("failure is " + f.line() + ", expected " + s.bytes);
        break;
      }
      case Step::Kind::can_submit:
        nothing_unchecked("@can_submit");
        if (drv.client().can_submit() != (s.number == 1)) {
          run.errors.push_back(std::string("can_submit() is ") + (s.number == 1 ? "false" : "true"));
        }
        break;
      case Step::Kind::copied:
        if (slicing == Slicing::as_written && drv.counters().body_bytes_copied != s.number) {
          run.errors.push_back("copied " + std::to_string(drv.counters().body_bytes_copied) + " body bytes, expected " +
                               std::to_string(s.number));
        }
        break;
    }
  }
  drain();
  nothing_unchecked("the end");
  if (!drv.references_ok()) run.errors.push_back("a slice segment does not point into a job's body");
  if (run.results != d.results) {
    std::string got, want;
    for (const std::string& r : run.results) got += "  R: " + r + "\n";
    for (const std::string& r : d.results) want += "  R: " + r + "\n";
    run.errors.push_back("results:\n" + got + "expected:\n" + want);
  }
  run.output = drv.all_output();
  return run;
}

std::vector<std::string> dialogue_names() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(LISTGATE_SMTP_DIALOGUE_DIR)) {
    if (e.path().extension() == ".dlg") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string joined(const std::vector<std::string>& errors) {
  std::string s;
  for (const std::string& e : errors) s += e + "\n";
  return s;
}

class SmtpDialogue : public ::testing::TestWithParam<std::string> {};

TEST_P(SmtpDialogue, MeetsExpectationsInEverySplit) {
  const Dialogue d = parse(read_file(std::filesystem::path(LISTGATE_SMTP_DIALOGUE_DIR) / (GetParam() + ".dlg")));
  ASSERT_TRUE(d.errors.empty()) << joined(d.errors);
  const Played ref = play(d, smtp_test::whole(), Slicing::as_written);
  EXPECT_TRUE(ref.errors.empty()) << "fed whole:\n" << joined(ref.errors);

  const auto same = [&](const Played& r, const std::string& how) {
    EXPECT_TRUE(r.errors.empty()) << how << ":\n" << joined(r.errors);
    EXPECT_EQ(visible(r.output), visible(ref.output)) << how;
    EXPECT_EQ(r.results, ref.results) << how;
  };
  same(play(d, smtp_test::bytewise(), Slicing::as_written), "byte by byte");
  same(play(d, smtp_test::whole(), Slicing::single), "body in one slice");
  same(play(d, smtp_test::bytewise(), Slicing::tiny), "byte by byte, body in 3-byte slices");
  for (uint32_t seed = 1; seed <= kRandomSplits; ++seed) {
    same(play(d, smtp_test::random_splits(seed * 7919, 2 + seed * 5), seed % 2 ? Slicing::as_written : Slicing::tiny),
         "random split seed " + std::to_string(seed));
  }
}

INSTANTIATE_TEST_SUITE_P(Files, SmtpDialogue, ::testing::ValuesIn(dialogue_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(SmtpDialogueFiles, EnoughDialogues) { EXPECT_GE(dialogue_names().size(), kMinDialogues); }

TEST(SmtpDialogueFormat, ParsesStepsAndCatchesMistakes) {
  const Dialogue d = parse(
      "# comment\n@config lmtp\n@job 1 <> a@x,b@y 8bit bare\nH: X: y\nB: body\\\nB: more\n@connect\nS: 220 x\n"
      "S: 250 y\nC: LHLO gw.example.org\n@submit 1\nR: 1 a@x 250 - ok\n");
  ASSERT_TRUE(d.errors.empty()) << joined(d.errors);
  EXPECT_EQ(d.config.protocol, Protocol::lmtp);
  const Job& j = d.jobs.at(1).job;
  EXPECT_EQ(j.sender, "");
  EXPECT_EQ(j.recipients, (std::vector<std::string_view>{"a@x", "b@y"}));
  EXPECT_TRUE(j.body_8bit && j.bare_newlines && !j.xverp);
  EXPECT_EQ(j.header_prefix, "X: y\r\n");
  EXPECT_EQ(d.jobs.at(1).body_pieces, (std::vector<std::string>{"body", "more\r\n"}));
  ASSERT_EQ(d.steps.size(), 4u);
  EXPECT_EQ(d.steps[1].bytes, "220 x\r\n250 y\r\n");
  EXPECT_EQ(d.results, (std::vector<std::string>{"1 a@x 250 - ok"}));
  EXPECT_FALSE(parse("B: x\n").errors.empty());
  EXPECT_FALSE(parse("@frobnicate\n").errors.empty());
  EXPECT_FALSE(parse("S: \\q\n").errors.empty());
}

}  // namespace
}  // namespace listgate::delivery
