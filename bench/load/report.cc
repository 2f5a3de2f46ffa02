// report.cc - see report.h.
#include "report.h"

#include <cstdio>

#include "listgate/base/json_string.h"

namespace listgate::loadbench {
namespace {

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string u(uint64_t v) { return std::to_string(v); }

double ms(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e6; }
double us(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e3; }

std::string shape(const Report& r) {
  const LoadOptions& o = *r.options;
  std::string s = r.target + ", " + u(o.connections) + " connections (" + r.run->backend + "), " + u(o.rcpts) +
                  " rcpt/msg, size " + o.size.describe() + ", unknown " + fmt("%g", o.unknown) + ", " +
                  (o.overlap ? "overlapping transactions" : "one transaction at a time") + ", ";
  s += o.messages > 0 ? u(o.messages) + " messages" : fmt("%g s", static_cast<double>(o.duration.count()) / 1000);
  return s;
}

double per_second(uint64_t n, double seconds) { return seconds > 0 ? static_cast<double>(n) / seconds : 0; }

}  // namespace

std::string json_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

std::string format_text(const Report& r) {
  const RunResult& run = *r.run;
  const LoadCounters& c = run.counters;
  const LatencyHistogram& l = run.latency;
  std::string s = "listgate-bench " + r.command + ": " + shape(r) + "\n";
  s += "  messages        " + u(c.messages_completed) + " in " + fmt("%.2f s", run.seconds) + " = " +
       fmt("%.0f msgs/s", run.messages_per_second()) + "  (started " + u(c.messages_started) + ", all replies 2xx " +
       u(c.messages_all_2xx) + ", no recipient accepted " + u(c.messages_no_recipient) + ")\n";
  s += "  recipients      accepted " + u(c.rcpt_accepted) + " = " + fmt("%.0f/s", run.recipients_per_second()) +
       ", refused " + u(c.rcpt_refused) + " (unknown and 550 as planned: " + u(c.unknown_refused) + ")\n";
  s += "  after DATA      2xx " + u(c.data_replies_2xx) + ", 4xx " + u(c.data_replies_4xx) + ", 5xx " +
       u(c.data_replies_5xx) + " (one reply per accepted recipient)\n";
  s += "  latency         p50 " + fmt("%.3f ms", ms(l.percentile(50))) + ", p99 " +
       fmt("%.3f ms", ms(l.percentile(99))) + ", mean " + fmt("%.3f ms", ms(l.mean())) + ", max " +
       fmt("%.3f ms", ms(l.max())) + " (final dot to last reply)\n";
  s += "  wrong replies   " + u(c.wrong_replies());
  if (c.wrong_replies() > 0) {
    s += " (known refused " + u(c.known_refused) + ", unknown accepted " + u(c.unknown_accepted) +
         ", unknown not 550 " + u(c.unknown_not_550) + ", MAIL refused " + u(c.mail_refused) + ", DATA refused " +
         u(c.data_refused) + ")";
  }
  s += "\n  errors          " + u(c.errors());
  if (c.errors() > 0) {
    s += " (connect " + u(c.connect_failures) + ", protocol " + u(c.protocol_errors) + ", lost " +
         u(c.connections_lost) + ", given up " + u(c.connections_given_up) + "; transactions cut off " +
         u(c.unfinished) + ")";
  }
  s += "\n";
  for (const std::string& e : run.first_errors) s += "    " + e + "\n";
  if (r.gateway) {
    const GatewayReport& g = *r.gateway;
    s += "  listgate        " + g.mode + " mode, io " + g.listgate_io + (g.sink_io.empty() ? "" : ", sink io " + g.sink_io) +
         "\n";
    if (g.member_deliveries) {
      s += "  member deliveries " + u(*g.member_deliveries) + " = " +
           fmt("%.0f/s", per_second(*g.member_deliveries, run.seconds)) + " (sink rcpt_accepted";
      if (g.listgate_delivered) s += "; listgate counted " + u(*g.listgate_delivered);
      s += ")\n";
    }
    const double cpu_us = c.messages_completed > 0 ? g.cpu_seconds * 1e6 / static_cast<double>(c.messages_completed) : 0;
    s += "  listgate CPU    " + fmt("%.2f us/msg", cpu_us) + " (utime+stime " + fmt("%.2f s", g.cpu_seconds) + " = " +
         fmt("%.0f %% of one core", run.seconds > 0 ? g.cpu_seconds * 100 / run.seconds : 0) + ")\n";
    s += "  listgate RSS    peak " + fmt("%.1f MiB", static_cast<double>(g.peak_rss_kib) / 1024) + " (VmHWM)\n";
  }
  return s;
}

std::string format_json(const Report& r) {
  const LoadOptions& o = *r.options;
  const RunResult& run = *r.run;
  const LoadCounters& c = run.counters;
  const LatencyHistogram& l = run.latency;
  std::string s = "{";
  const auto field = [&](std::string_view key, const std::string& value) {
    if (s.size() > 1 && s.back() != '{') s += ",";
    s += json_string(key) + ":" + value;
  };
  const auto number = [](double v) { return fmt("%.6g", v); };
  field("command", json_string(r.command));
  field("target", json_string(r.target));
  field("io", json_string(run.backend));
  field("connections", u(o.connections));
  field("rcpts_per_message", u(o.rcpts));
  field("size", json_string(o.size.describe()));
  field("unknown_share", number(o.unknown));
  field("overlap", o.overlap ? "true" : "false");
  field("seconds", fmt("%.3f", run.seconds));
  field("messages", u(c.messages_completed));
  field("messages_started", u(c.messages_started));
  field("messages_all_2xx", u(c.messages_all_2xx));
  field("messages_no_recipient", u(c.messages_no_recipient));
  field("msgs_per_s", fmt("%.1f", run.messages_per_second()));
  field("rcpt_accepted", u(c.rcpt_accepted));
  field("rcpt_refused", u(c.rcpt_refused));
  field("unknown_refused", u(c.unknown_refused));
  field("rcpts_per_s", fmt("%.1f", run.recipients_per_second()));
  field("data_replies", "{\"2xx\":" + u(c.data_replies_2xx) + ",\"4xx\":" + u(c.data_replies_4xx) + ",\"5xx\":" +
                            u(c.data_replies_5xx) + "}");
  field("latency_us", "{\"p50\":" + fmt("%.1f", us(l.percentile(50))) + ",\"p99\":" + fmt("%.1f", us(l.percentile(99))) +
                          ",\"mean\":" + fmt("%.1f", us(l.mean())) + ",\"max\":" + fmt("%.1f", us(l.max())) + "}");
  field("wrong_replies", "{\"known_refused\":" + u(c.known_refused) + ",\"unknown_accepted\":" +
                             u(c.unknown_accepted) + ",\"unknown_not_550\":" + u(c.unknown_not_550) +
                             ",\"mail_refused\":" + u(c.mail_refused) + ",\"data_refused\":" + u(c.data_refused) + "}");
  field("errors", "{\"connect\":" + u(c.connect_failures) + ",\"protocol\":" + u(c.protocol_errors) + ",\"lost\":" +
                      u(c.connections_lost) + ",\"given_up\":" + u(c.connections_given_up) + ",\"unfinished\":" +
                      u(c.unfinished) + "}");
  std::string errors = "[";
  for (const std::string& e : run.first_errors) {
    if (errors.size() > 1) errors += ',';
    errors += json_string(e);
  }
  field("first_errors", errors + "]");
  field("tick_ms", u(static_cast<uint64_t>(run.tick.count())));
  std::string timeline = "[";
  for (uint64_t n : run.completed_per_tick) {
    if (timeline.size() > 1) timeline += ',';
    timeline += u(n);
  }
  field("completed_per_tick", timeline + "]");
  if (r.gateway) {
    const GatewayReport& g = *r.gateway;
    std::string gw = "{\"mode\":" + json_string(g.mode) + ",\"io\":" + json_string(g.listgate_io);
    if (!g.sink_io.empty()) gw += ",\"sink_io\":" + json_string(g.sink_io);
    if (g.member_deliveries) {
      gw += ",\"member_deliveries\":" + u(*g.member_deliveries) +
            ",\"member_deliveries_per_s\":" + fmt("%.1f", per_second(*g.member_deliveries, run.seconds));
    }
    if (g.listgate_delivered) gw += ",\"listgate_delivered\":" + u(*g.listgate_delivered);
    const double cpu_us = c.messages_completed > 0 ? g.cpu_seconds * 1e6 / static_cast<double>(c.messages_completed) : 0;
    gw += ",\"cpu_seconds\":" + fmt("%.3f", g.cpu_seconds) + ",\"cpu_us_per_msg\":" + fmt("%.3f", cpu_us) +
          ",\"peak_rss_kib\":" + u(g.peak_rss_kib) + "}";
    field("gateway", gw);
  }
  return s + "}\n";
}

}  // namespace listgate::loadbench
