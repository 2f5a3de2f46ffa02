// svg_plot.cc - see svg_plot.h.
#include "svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace listgate::loadbench {
namespace {

constexpr double kWidth = 800;
constexpr double kHeight = 400;
constexpr double kLeft = 80;   // room for the y labels
constexpr double kRight = 20;
constexpr double kTop = 40;    // room for the title
constexpr double kBottom = 50; // room for the x labels

std::string number(double v) {
  char buf[32];
  if (v >= 1e6 && std::fmod(v, 1e6) == 0) {
    std::snprintf(buf, sizeof buf, "%gM", v / 1e6);
  } else if (v >= 1e3 && std::fmod(v, 1e3) == 0) {
    std::snprintf(buf, sizeof buf, "%gk", v / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%g", v);
  }
  return buf;
}

std::string coord(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string escape_xml(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

double nice_step(double max) {
  const double raw = max / 5;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * power >= raw) return m * power;
  }
  return 10 * power;
}

std::string throughput_svg(const std::vector<uint64_t>& per_sample, double sample_seconds, std::string_view title) {
  const double plot_w = kWidth - kLeft - kRight;
  const double plot_h = kHeight - kTop - kBottom;
  const double duration = std::max(sample_seconds, static_cast<double>(per_sample.size()) * sample_seconds);
  double peak = 0;
  double sum = 0;
  for (uint64_t n : per_sample) {
    peak = std::max(peak, static_cast<double>(n) / sample_seconds);
    sum += static_cast<double>(n);
  }
  const double mean = per_sample.empty() ? 0 : sum / duration;
  const double y_step = nice_step(std::max(peak, 1.0));
  const double y_max = std::ceil(std::max(peak, 1.0) / y_step) * y_step;
  const double x_step = nice_step(duration);
  const auto x_of = [&](double t) { return kLeft + t / duration * plot_w; };
  const auto y_of = [&](double v) { return kTop + plot_h - v / y_max * plot_h; };

  std::string s;
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + number(kWidth) + "\" height=\"" + number(kHeight) +
       "\" viewBox=\"0 0 " + number(kWidth) + " " + number(kHeight) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + coord(kWidth / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">" + escape_xml(title) +
       "</text>\n";
  // Grid and y ticks.
  for (double v = 0; v <= y_max + y_step / 2; v += y_step) {
    const std::string y = coord(y_of(v));
    s += "<line x1=\"" + coord(kLeft) + "\" y1=\"" + y + "\" x2=\"" + coord(kLeft + plot_w) + "\" y2=\"" + y +
         "\" stroke=\"#ddd\"/>\n";
    s += "<text x=\"" + coord(kLeft - 6) + "\" y=\"" + coord(y_of(v) + 4) + "\" text-anchor=\"end\">" + number(v) +
         "</text>\n";
  }
  // x ticks.
  for (double t = 0; t <= duration + x_step / 1000; t += x_step) {
    const std::string x = coord(x_of(t));
    s += "<line x1=\"" + x + "\" y1=\"" + coord(kTop + plot_h) + "\" x2=\"" + x + "\" y2=\"" +
         coord(kTop + plot_h + 5) + "\" stroke=\"black\"/>\n";
    s += "<text x=\"" + x + "\" y=\"" + coord(kTop + plot_h + 18) + "\" text-anchor=\"middle\">" + number(t) +
         "</text>\n";
  }
  // Axes and their labels.
  s += "<line x1=\"" + coord(kLeft) + "\" y1=\"" + coord(kTop) + "\" x2=\"" + coord(kLeft) + "\" y2=\"" +
       coord(kTop + plot_h) + "\" stroke=\"black\"/>\n";
  s += "<line x1=\"" + coord(kLeft) + "\" y1=\"" + coord(kTop + plot_h) + "\" x2=\"" + coord(kLeft + plot_w) +
       "\" y2=\"" + coord(kTop + plot_h) + "\" stroke=\"black\"/>\n";
  s += "<text x=\"" + coord(kLeft + plot_w / 2) + "\" y=\"" + coord(kHeight - 10) +
       "\" text-anchor=\"middle\">time (s)</text>\n";
  s += "<text x=\"16\" y=\"" + coord(kTop + plot_h / 2) + "\" text-anchor=\"middle\" transform=\"rotate(-90 16 " +
       coord(kTop + plot_h / 2) + ")\">messages/s (per " + number(sample_seconds * 1000) + " ms)</text>\n";
  // The mean, dashed.
  if (!per_sample.empty()) {
    const std::string y = coord(y_of(mean));
    s += "<line x1=\"" + coord(kLeft) + "\" y1=\"" + y + "\" x2=\"" + coord(kLeft + plot_w) + "\" y2=\"" + y +
         "\" stroke=\"#c33\" stroke-dasharray=\"6 4\"/>\n";
    s += "<text x=\"" + coord(kLeft + plot_w - 4) + "\" y=\"" + coord(y_of(mean) - 6) +
         "\" text-anchor=\"end\" fill=\"#c33\">mean " + number(std::round(mean)) + "/s</text>\n";
  }
  // The throughput.
  s += "<polyline fill=\"none\" stroke=\"#2366b3\" stroke-width=\"1.5\" points=\"";
  for (size_t i = 0; i < per_sample.size(); ++i) {
    if (i > 0) s += ' ';
    s += coord(x_of(static_cast<double>(i + 1) * sample_seconds)) + "," +
         coord(y_of(static_cast<double>(per_sample[i]) / sample_seconds));
  }
  s += "\"/>\n</svg>\n";
  return s;
}

}  // namespace listgate::loadbench
