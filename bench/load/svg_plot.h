// svg_plot.h - throughput over time as a small hand-written SVG.
//
// One polyline of messages/s per sample, a dashed line at the mean, axes
// with round tick values, labels and a title. Pure text: no file access.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace listgate::loadbench {

// `per_sample[i]` messages completed in sample i, each `sample_seconds`
// long; plotted as per_sample[i] / sample_seconds at time (i + 1) * sample_seconds.
std::string throughput_svg(const std::vector<uint64_t>& per_sample, double sample_seconds, std::string_view title);

// The tick step for an axis from 0 to `max`: 1, 2 or 5 times a power of
// ten, giving 4 to 10 ticks (max > 0).
double nice_step(double max);

}  // namespace listgate::loadbench
