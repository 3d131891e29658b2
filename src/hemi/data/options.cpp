#include "hemi/data/options.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "hemi/base/error.h"

namespace hemi::data {

namespace {

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

int parse_dimension(const std::string& text, const std::string& whole) {
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    throw Error("bad image size '" + whole + "' (expected HxW, e.g. 28x28)");
  return std::stoi(text);
}

std::vector<float> expand(const std::vector<float>& v, int channels) {
  if (v.size() == 1) return std::vector<float>(static_cast<std::size_t>(channels), v[0]);
  return v;
}

}  // namespace

int channel_count(ChannelMode mode) { return mode == ChannelMode::kRgb ? 3 : 1; }

std::string to_string(ChannelMode mode) { return mode == ChannelMode::kRgb ? "rgb" : "gray"; }

std::string to_string(ResizeFilter filter) {
  return filter == ResizeFilter::kBilinear ? "bilinear" : "area";
}

ChannelMode parse_channel_mode(const std::string& text) {
  auto t = lower(text);
  if (t == "gray" || t == "grey" || t == "l") return ChannelMode::kGray;
  if (t == "rgb") return ChannelMode::kRgb;
  throw Error("unknown channel mode '" + text + "' (expected gray or rgb)");
}

ResizeFilter parse_resize_filter(const std::string& text) {
  auto t = lower(text);
  if (t == "area") return ResizeFilter::kArea;
  if (t == "bilinear") return ResizeFilter::kBilinear;
  throw Error("unknown resize filter '" + text + "' (expected area or bilinear)");
}

void parse_size(const std::string& text, int& height, int& width) {
  auto t = lower(text);
  auto x = t.find('x');
  if (x == std::string::npos) {
    height = width = parse_dimension(t, text);
  } else {
    height = parse_dimension(t.substr(0, x), text);
    width = parse_dimension(t.substr(x + 1), text);
  }
  if (height < 1 || width < 1 || height > 4096 || width > 4096)
    throw Error("bad image size '" + text + "' (each side must be in [1, 4096])");
}

void validate(const LoadOptions& opts) {
  if (opts.height < 1 || opts.height > 4096 || opts.width < 1 || opts.width > 4096)
    throw Error("load options: image size " + std::to_string(opts.height) + "x" +
                std::to_string(opts.width) + " out of range (each side in [1, 4096])");
  int c = channel_count(opts.channels);
  auto check = [&](const std::vector<float>& v, const char* name, bool positive) {
    if (v.size() != 1 && v.size() != static_cast<std::size_t>(c))
      throw Error(std::string("load options: ") + name + " has " + std::to_string(v.size()) +
                  " values; expected 1 or " + std::to_string(c) + " (one per channel)");
    for (float x : v) {
      if (!std::isfinite(x) || (positive && !(x > 0.0f)))
        throw Error(std::string("load options: bad ") + name + " value " + std::to_string(x));
    }
  };
  check(opts.mean, "mean", false);
  check(opts.stddev, "stddev", true);
  if (!(opts.train_fraction >= 0.0 && opts.train_fraction <= 1.0))
    throw Error("load options: train fraction " + std::to_string(opts.train_fraction) +
                " is not in [0, 1]");
}

void parse_split_choice(const std::string& text, LoadOptions& opts) {
  if (text.empty()) throw Error("empty split choice (expected auto, a train fraction in [0, 1] or a split name)");
  if (lower(text) == "auto") {
    opts.split_mode = SplitMode::kAuto;
    return;
  }
  char* end = nullptr;
  const double f = std::strtod(text.c_str(), &end);
  if (end && *end == '\0' && end != text.c_str()) {
    if (!(f >= 0.0 && f <= 1.0))
      throw Error("split " + text + ": a train fraction must be in [0, 1] (1 = every image trains, no test set)");
    opts.split_mode = SplitMode::kFraction;
    opts.train_fraction = f;
    return;
  }
  opts.split_mode = SplitMode::kNamed;
  opts.test_split = text;
}

std::string describe_split_choice(const LoadOptions& opts) {
  switch (opts.split_mode) {
    case SplitMode::kAuto: return "auto";
    case SplitMode::kNamed: return "split '" + opts.test_split + "'";
    case SplitMode::kFraction: {
      char buf[96];
      std::snprintf(buf, sizeof buf, "fraction %g (seed %llu)", opts.train_fraction,
                    static_cast<unsigned long long>(opts.seed));
      return buf;
    }
  }
  return "?";
}

std::vector<float> channel_means(const LoadOptions& opts) {
  return expand(opts.mean, channel_count(opts.channels));
}

std::vector<float> channel_stddevs(const LoadOptions& opts) {
  return expand(opts.stddev, channel_count(opts.channels));
}

}  // namespace hemi::data
