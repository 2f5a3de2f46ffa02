// main.cc - listgate-sink: an SMTP sink with switchable faults (README.md).
#include <unistd.h>

#include <cstdio>
#include <string>

#include "options.h"
#include "sink_server.h"

int main(int argc, char** argv) {
  using namespace listgate::sink;
  auto args = parse_sink_args(argc - 1, argv + 1);
  if (!args.ok()) {
    std::fprintf(stderr, "listgate-sink: %s\n%.*s", args.error().message.c_str(),
                 static_cast<int>(sink_usage().size()), sink_usage().data());
    return 2;
  }
  if (args->help) {
    std::fwrite(sink_usage().data(), 1, sink_usage().size(), stdout);
    return 0;
  }
  SinkServer server(std::move(args.value()));
  auto started = server.start();
  if (!started.ok()) {
    std::fprintf(stderr, "listgate-sink: %s\n", started.error().message.c_str());
    return 1;
  }
  server.run();
  server.finish();
  return 0;
}
