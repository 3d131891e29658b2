// Decoding one image file (JPEG, PNG; stb_image) and turning 8-bit pixels into the normalized
// C x H x W floats of an ImageSet: channel conversion, resize, normalization.
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hemi/base/bytes.h"
#include "hemi/data/options.h"

namespace hemi::data {

// An 8-bit image as stored: rows of interleaved channels
// (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA), row-major, no padding.
struct DecodedImage {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<std::uint8_t> pixels;  // height * width * channels
};

// Decodes a JPEG or PNG file (the format is taken from the content, not the extension).
// EXIF orientation is not applied. Throws hemi::Error naming the file if it cannot be read,
// is not a supported image, is corrupt or truncated.
DecodedImage decode_image(const std::string& path);
// The same for bytes in memory; `what` names them in errors.
DecodedImage decode_image_bytes(const Bytes& bytes, const std::string& what);

// Converts interleaved 8-bit pixels to planes of floats in [0, 255] in the given mode:
// gray -> 1 plane (BT.601 luma 0.299 R + 0.587 G + 0.114 B for colour sources, computed in
// float without rounding); rgb -> 3 planes (gray sources replicated). Alpha is ignored.
std::vector<float> to_planes(const std::uint8_t* pixels, int height, int width,
                             int src_channels, ChannelMode mode);

// Resizes one plane (row-major src_h x src_w) to dst_h x dst_w with the given filter.
// Area: output pixel (y, x) is the mean of the source over the rectangle
// [y*src_h/dst_h, (y+1)*src_h/dst_h) x [x*src_w/dst_w, (x+1)*src_w/dst_w), source pixels
// weighted by their overlap (exact, also when enlarging). Bilinear: sample point
// ((y+0.5)*src_h/dst_h - 0.5, ...), clamped to the edge pixels.
// Equal sizes copy the plane unchanged.
std::vector<float> resize_plane(const float* src, int src_h, int src_w, int dst_h, int dst_w,
                                ResizeFilter filter);

// The whole pipeline for one image: planes, resize to opts.height x opts.width,
// normalize with opts.mean / opts.stddev. Writes channel_count(opts.channels) * H * W floats.
void prepare_image(const std::uint8_t* pixels, int height, int width, int src_channels,
                   const LoadOptions& opts, float* out);

}  // namespace hemi::data
