// main.cc - listgate-bench: the LMTP load generator and end-to-end benchmark.
//
//   listgate-bench load [flags]   load a running LMTP server
//   listgate-bench e2e [flags]    start sink + listgate, load, measure the gateway
//
// README.md in this folder describes every flag and the output.
#include <cstdio>

#include "e2e.h"
#include "load_command.h"
#include "options.h"

int main(int argc, char** argv) {
  using namespace listgate::loadbench;
  auto args = parse_bench_args(argc - 1, argv + 1);
  if (!args.ok()) {
    std::fprintf(stderr, "listgate-bench: %s\n\n%.*s", args.error().message.c_str(),
                 static_cast<int>(bench_usage().size()), bench_usage().data());
    return 2;
  }
  switch (args->command) {
    case BenchArgs::Command::help:
      std::fwrite(bench_usage().data(), 1, bench_usage().size(), stdout);
      return 0;
    case BenchArgs::Command::load:
      return run_load_command(args->load);
    case BenchArgs::Command::e2e:
      return run_e2e_command(args->load, args->e2e);
  }
  return 2;
}
