// e2e.cc - see e2e.h.
#include "e2e.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "child_process.h"
#include "e2e_files.h"
#include "listgate/base/concat.h"
#include "load_command.h"
#include "proc_stats.h"
#include "server_probes.h"

#ifndef LISTGATE_SOURCE_ROOT
#define LISTGATE_SOURCE_ROOT "."
#endif

namespace listgate::loadbench {
namespace {

using namespace std::chrono_literals;

constexpr auto kStartTimeout = 60s;   // a table of millions of members takes a while
constexpr auto kProbeTimeout = 10s;
constexpr auto kStopGrace = 35s;      // listgate's drain_timeout is 30 s

// <builddir>/bench/load/listgate-bench -> <builddir>
Result<std::filesystem::path> own_build_dir() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return make_error("cannot read /proc/self/exe: " + ec.message());
  return self.parent_path().parent_path().parent_path();
}

Result<std::string> binary(const std::string& given, const std::string& relative, std::string_view flag) {
  std::string path = given;
  if (path.empty()) {
    auto build = own_build_dir();
    if (!build.ok()) return build.error();
    path = (*build / relative).string();
  }
  if (::access(path.c_str(), X_OK) != 0) {
    return make_error(concat({path, " is not an executable; build it (ninja -C BUILDDIR ", relative,
                              ") or name it with --", flag}));
  }
  return path;
}

Result<void> write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) return make_error(concat({"cannot write ", path}));
  return {};
}

Result<app::Address> address_field(std::string_view line, std::string_view key) {
  const std::string text = line_field(line, key);
  auto a = app::parse_address(text, app::AllowUnix::no);
  if (!a.ok()) return make_error(concat({"no ", key, "= address in '", line, "'"}));
  return a;
}

// Everything one run holds; the children are killed if it ends early.
class E2eRun {
 public:
  E2eRun(const LoadOptions& load, const E2eOptions& e2e) : load_(load), e2e_(e2e) {}

  Result<int> execute() {
    auto listgate_bin = binary(e2e_.listgate, "src/app/listgate", "listgate");
    if (!listgate_bin.ok()) return listgate_bin.error();
    std::string sink_bin;
    if (!e2e_.discard) {
      auto b = binary(e2e_.sink, "bench/sink/listgate-sink", "sink");
      if (!b.ok()) return b.error();
      sink_bin = *b;
    }
    if (auto made = make_dir(); !made.ok()) return made.error();
    if (!e2e_.discard) {
      if (auto s = start_sink(sink_bin); !s.ok()) return s.error();
    }
    if (auto t = write_table(); !t.ok()) return t.error();
    if (auto g = start_listgate(*listgate_bin); !g.ok()) return g.error();
    if (auto p = pin_self_to_cpu(load_.cpu); !p.ok()) return p.error();

    auto recipients = recipients_from_table(table_path_);
    if (!recipients.ok()) return recipients.error();
    auto workload = build_workload(load_, *recipients);
    if (!workload.ok()) return workload.error();

    // Counters before.
    auto cpu_before = process_cpu_seconds(listgate_->pid());
    if (!cpu_before.ok()) return cpu_before.error();
    auto metrics_before = fetch_metrics(metrics_, kProbeTimeout);
    if (!metrics_before.ok()) return metrics_before.error();
    SinkStats sink_before;
    if (sink_) {
      auto s = fetch_sink_stats(sink_control_, kProbeTimeout);
      if (!s.ok()) return s.error();
      sink_before = *s;
    }

    auto run = run_with_progress(load_, lmtp_, **workload);
    if (!run.ok()) return run.error();

    // Counters after.
    GatewayReport gateway;
    gateway.mode = e2e_.discard ? "discard" : "relay";
    gateway.listgate_io = listgate_io_;
    gateway.sink_io = sink_io_;
    auto cpu_after = process_cpu_seconds(listgate_->pid());
    if (!cpu_after.ok()) return cpu_after.error();
    gateway.cpu_seconds = *cpu_after - *cpu_before;
    auto rss = process_peak_rss_kib(listgate_->pid());
    if (!rss.ok()) return rss.error();
    gateway.peak_rss_kib = *rss;
    auto metrics_after = fetch_metrics(metrics_, kProbeTimeout);
    if (!metrics_after.ok()) return metrics_after.error();
    if (!e2e_.discard) {
      const std::string key = "listgate_deliveries_total{result=\"delivered\"}";
      gateway.listgate_delivered = static_cast<uint64_t>((*metrics_after)[key] - (*metrics_before)[key]);
    }
    if (sink_) {
      auto s = fetch_sink_stats(sink_control_, kProbeTimeout);
      if (!s.ok()) return s.error();
      gateway.member_deliveries = (*s)["rcpt_accepted"] - sink_before["rcpt_accepted"];
    }

    int status = exit_status(*run);
    if (const int code = listgate_->stop(kStopGrace); code != 0) {
      std::fprintf(stderr, "listgate-bench e2e: listgate exited with status %d:\n%s\n", code,
                   listgate_->log_tail(10).c_str());
      status = 1;
    }
    if (sink_) {
      if (const int code = sink_->stop(kStopGrace); code != 0) {
        std::fprintf(stderr, "listgate-bench e2e: the sink exited with status %d\n", code);
        status = 1;
      }
    }
    Report report{"e2e", lmtp_.to_string(), &load_, &run.value(), gateway};
    if (auto published = publish(report); !published.ok()) return published.error();
    if (status != 0) keep_dir_ = true;  // for a look at the logs
    return status;
  }

  ~E2eRun() {
    listgate_.reset();  // kills what still runs
    sink_.reset();
    if (dir_.empty()) return;
    if (keep_dir_ || e2e_.keep) {
      std::fprintf(stderr, "listgate-bench e2e: config, table and logs are in %s\n", dir_.c_str());
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void keep_dir() { keep_dir_ = true; }

 private:
  Result<void> make_dir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/listgate-bench.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) return make_error(concat({"mkdtemp ", pattern, " failed"}));
    dir_ = pattern;
    return {};
  }

  Result<void> start_sink(const std::string& bin) {
    auto child = ChildProcess::spawn("listgate-sink",
                                     {bin, "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0", "--io",
                                      std::string(app::to_string(load_.io))},
                                     dir_ + "/sink.log", e2e_.sink_cpu);
    if (!child.ok()) return child.error();
    sink_.emplace(std::move(child.value()));
    auto line = sink_->wait_for_line("sink listening", kStartTimeout);
    if (!line.ok()) return line.error();
    auto smtp = address_field(*line, "smtp");
    if (!smtp.ok()) return smtp.error();
    auto control = address_field(*line, "control");
    if (!control.ok()) return control.error();
    sink_smtp_ = *smtp;
    sink_control_ = *control;
    sink_io_ = line_field(*line, "io");
    return {};
  }

  Result<void> write_table() {
    table_path_ = dir_ + "/lists.json";
    if (e2e_.lists > 0) return write_file(table_path_, generated_table_json(e2e_.lists, e2e_.members));
    const std::string source = load_.table.empty() ? LISTGATE_SOURCE_ROOT "/tools/example/lists.json" : load_.table;
    std::optional<std::string> backend;
    if (sink_) backend = concat({"smtp:[", sink_smtp_.host, "]:", std::to_string(sink_smtp_.port)});
    auto json = rewritten_table_json(source, backend);
    if (!json.ok()) return json.error();
    return write_file(table_path_, *json);
  }

  Result<void> start_listgate(const std::string& bin) {
    GatewayConfig config;
    config.table = table_path_;
    config.dir = dir_;
    config.io = load_.io;
    if (sink_) config.smtp = sink_smtp_;
    config.max_connections = load_.connections + 64;
    config.max_transaction_recipients = std::max<uint32_t>(1000, load_.rcpts);
    config.max_message_size = std::max<uint64_t>(52428800, load_.size.largest() + 1024);
    const std::string config_path = dir_ + "/listgate.cfg";
    if (auto w = write_file(config_path, gateway_config_text(config)); !w.ok()) return w;
    std::vector<std::string> argv{bin, "serve", "-c", config_path};
    if (e2e_.discard) argv.emplace_back("--discard");
    auto child = ChildProcess::spawn("listgate", argv, dir_ + "/listgate.log", e2e_.listgate_cpu);
    if (!child.ok()) return child.error();
    listgate_.emplace(std::move(child.value()));
    auto io_line = listgate_->wait_for_line("event=io_backend", kStartTimeout);
    if (!io_line.ok()) return io_line.error();
    listgate_io_ = line_field(*io_line, "backend");
    auto line = listgate_->wait_for_line("event=listening", kStartTimeout);
    if (!line.ok()) return line.error();
    auto lmtp = address_field(*line, "lmtp");
    if (!lmtp.ok()) return lmtp.error();
    auto metrics = address_field(*line, "metrics");
    if (!metrics.ok()) return metrics.error();
    lmtp_ = *lmtp;
    metrics_ = *metrics;
    return {};
  }

  const LoadOptions& load_;
  const E2eOptions& e2e_;
  std::string dir_;
  std::string table_path_;
  std::optional<ChildProcess> sink_;
  std::optional<ChildProcess> listgate_;
  app::Address sink_smtp_;
  app::Address sink_control_;
  app::Address lmtp_;
  app::Address metrics_;
  std::string sink_io_;
  std::string listgate_io_;
  bool keep_dir_ = false;
};

}  // namespace

int run_e2e_command(const LoadOptions& load, const E2eOptions& e2e) {
  E2eRun run(load, e2e);
  auto status = run.execute();
  if (!status.ok()) {
    std::fprintf(stderr, "listgate-bench e2e: %s\n", status.error().message.c_str());
    run.keep_dir();
    return 1;
  }
  return *status;
}

}  // namespace listgate::loadbench
