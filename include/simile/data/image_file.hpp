#pragma once
/// \file
/// PNG and JPEG files, through Debian's libpng and libjpeg-turbo (private dependencies, like zlib: their
/// headers stay in `image_file-inl.hpp`): decoding into uint8 [C, H, W] with 1 (gray) or 3 (RGB) channels,
/// fitting an image to a size (bilinear resize or center crop), and writing PNG and JPEG files.
///
/// Decoding converts as needed: palette and low bit depths are expanded, 16-bit samples are scaled to 8
/// (round(v * 255 / 65535)), an alpha channel is dropped (not composited), RGB becomes gray by ITU-R
/// BT.601 luma (299 R + 587 G + 114 B) / 1000 rounded, as PIL's `convert("L")` does, and gray is copied
/// into the three channels of RGB. A corrupt, truncated or unsupported file (a CMYK JPEG, say) is an
/// IoError naming it and what libpng or libjpeg said: their errors are caught by setjmp/longjmp
/// handlers, never by exit(), and nothing is printed.

#include <cstdint>
#include <span>
#include <string>

#include "simile/core/instantiate.hpp"
#include "simile/core/tensor.hpp"

namespace simile {

/// Largest image decoded, in pixels (width x height): 64 Mpixel, so that a header claiming a huge image is
/// refused before anything is allocated.
inline constexpr Index max_image_pixels = Index(1) << 26;

/// Decodes a PNG or a JPEG (told by its first bytes) held in `bytes` into uint8 [channels, H, W],
/// `channels` 1 (gray) or 3 (RGB), converting as the file header above says. `name` (a path) names the
/// image in errors: an IoError for anything that is neither PNG nor JPEG, corrupt, truncated or larger
/// than `max_image_pixels`; a ValueError for `channels` other than 1 or 3.
Tensor<std::uint8_t> decode_image(std::span<const std::uint8_t> bytes, int channels, const std::string& name);

/// `decode_image` of the file at `path` (a regular file; a FIFO or a device is refused without blocking).
Tensor<std::uint8_t> read_image(const std::string& path, int channels);

/// How an image becomes the size a model reads.
enum class ImageFit {
  resize,  ///< stretched to H x W by bilinear interpolation (the aspect ratio is not kept)
  crop,    ///< scaled (bilinear) so that it covers H x W with its aspect ratio kept, then the centre H x W
};

/// Bilinear resize of uint8 [C, H, W] to [C, height, width], with pixel centres at half-integers
/// (PyTorch's `align_corners=False`, OpenCV's INTER_LINEAR): output pixel (y, x) reads the input at
/// ((y + 0.5) H / height - 0.5, (x + 0.5) W / width - 0.5), clamped to the image, interpolated in the 2x2
/// neighbourhood and rounded to nearest. Shrinking by 2 or more first halves the image by 2x2 means
/// (rounded; an odd last row or column dropped) while it stays at least twice the target along that axis,
/// so that a photo is not aliased down to a thumbnail. The same size returns a copy of the input.
/// Requires height, width >= 1 and a non-empty input.
Tensor<std::uint8_t> resize_bilinear(const Tensor<std::uint8_t>& image, Index height, Index width);

/// The centre `height` x `width` of uint8 [C, H, W]: rows from floor((H - height) / 2), columns from
/// floor((W - width) / 2). Requires 1 <= height <= H and 1 <= width <= W.
Tensor<std::uint8_t> center_crop(const Tensor<std::uint8_t>& image, Index height, Index width);

/// uint8 [C, H, W] fitted to [C, height, width] by `fit`. `ImageFit::crop` scales by
/// max(height / H, width / W) (sizes rounded to nearest, at least the target; no scaling when one side
/// already matches and the other covers it), then takes the centre.
Tensor<std::uint8_t> fit_image(const Tensor<std::uint8_t>& image, Index height, Index width, ImageFit fit);

/// Writes uint8 [C, H, W] as an 8-bit PNG: C = 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA. Through `AtomicFile`
/// (the file is complete or untouched). Throws ShapeError for another shape, IoError when writing fails.
void write_png(const std::string& path, const Tensor<std::uint8_t>& image);

/// Writes uint8 [C, H, W], C = 1 (gray) or 3 (RGB), as a baseline JPEG of `quality` 1..100 (4:2:0 chroma
/// for RGB, libjpeg's defaults), through `AtomicFile`.
void write_jpeg(const std::string& path, const Tensor<std::uint8_t>& image, int quality = 90);

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/data/image_file-inl.hpp"
#endif
