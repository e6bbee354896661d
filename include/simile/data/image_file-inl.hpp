#pragma once
/// \file
/// The definitions behind `simile/data/image_file.hpp`: compiled once in `src/data/image_file.cpp`, or
/// included by that header in header-only mode (SIMILE_INLINE is then `inline`).
///
/// libpng and libjpeg report errors by longjmp. Each setjmp sits in a function whose frame holds no C++
/// object with a destructor and whose state lives behind a pointer (so nothing is indeterminate after the
/// jump); the callbacks libpng and libjpeg call hold none either, so a longjmp skips no destructor. The
/// C++ side (allocation, the exception) happens outside those frames.

#include <png.h>
#include <jpeglib.h>
#include <jerror.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <vector>

#include "simile/core/atomic_file.hpp"
#include "simile/core/error.hpp"
#include "simile/data/file.hpp"
#include "simile/data/image_file.hpp"

namespace simile::detail {

/// Interleaved 8-bit pixels as a decoder gives them: [H, W, channels], channels 1 (gray) or 3 (RGB).
struct RawImage {
  std::vector<std::uint8_t> pixels;
  Index height = 0, width = 0;
  int channels = 0;
};

// ---- PNG ----------------------------------------------------------------------------------------------

struct PngDecoder {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const std::uint8_t* data = nullptr;
  std::size_t size = 0, pos = 0;
  char message[256] = "";
  RawImage* out = nullptr;
  std::vector<png_bytep>* rows = nullptr;
  bool too_large = false;
};

/// libpng's error handler, for reading and writing: its error pointer is a 256-byte message buffer.
extern "C" inline void simile_png_error(png_structp png, png_const_charp message) {
  std::snprintf(static_cast<char*>(png_get_error_ptr(png)), 256, "%s", message ? message : "unknown libpng error");
  png_longjmp(png, 1);
}
extern "C" inline void simile_png_warning(png_structp, png_const_charp) {}
extern "C" inline void simile_png_read(png_structp png, png_bytep dst, png_size_t n) {
  auto* d = static_cast<PngDecoder*>(png_get_io_ptr(png));
  if (n > d->size - d->pos) png_error(png, "the file ends early (truncated)");
  std::memcpy(dst, d->data + d->pos, n);
  d->pos += n;
}

// Reads the header, sets the transforms and returns the output size; 0 on a libpng error. The buffers
// are sized by the caller between the two steps (an allocation may throw, which must not cross libpng).
inline bool png_read_header(PngDecoder& d) {
  if (setjmp(png_jmpbuf(d.png))) return false;
  png_set_read_fn(d.png, &d, simile_png_read);
  png_set_user_limits(d.png, 1u << 24, 1u << 24);
  png_read_info(d.png, d.info);
  png_uint_32 w = png_get_image_width(d.png, d.info), h = png_get_image_height(d.png, d.info);
  if (Index(w) * Index(h) > max_image_pixels) {
    d.too_large = true;
    return false;
  }
  int color = png_get_color_type(d.png, d.info);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(d.png);
  if (color == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(d.png, d.info) < 8) png_set_expand_gray_1_2_4_to_8(d.png);
  png_set_scale_16(d.png);
  png_set_strip_alpha(d.png);  // also keeps a tRNS chunk from becoming an alpha channel
  png_set_interlace_handling(d.png);
  png_read_update_info(d.png, d.info);
  d.out->width = Index(w), d.out->height = Index(h);
  d.out->channels = png_get_channels(d.png, d.info);
  return true;
}

inline bool png_read_pixels(PngDecoder& d) {
  if (setjmp(png_jmpbuf(d.png))) return false;
  png_read_image(d.png, d.rows->data());
  png_read_end(d.png, nullptr);
  return true;
}

inline RawImage decode_png_raw(std::span<const std::uint8_t> bytes, const std::string& name) {
  RawImage out;
  std::vector<png_bytep> rows;
  PngDecoder d;
  d.data = bytes.data(), d.size = bytes.size(), d.out = &out, d.rows = &rows;
  d.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, d.message, simile_png_error, simile_png_warning);
  if (d.png) d.info = png_create_info_struct(d.png);
  struct Release {
    PngDecoder& d;
    ~Release() { png_destroy_read_struct(&d.png, &d.info, nullptr); }
  } release{d};
  check<IoError>(d.png && d.info, "decode_image: '", name, "': libpng could not start (out of memory?)");
  auto fail = [&] {
    if (d.too_large)
      throw IoError(str("decode_image: '", name, "' is a ", png_get_image_width(d.png, d.info), "x",
                        png_get_image_height(d.png, d.info), " PNG, more than the ", max_image_pixels,
                        " pixels simile decodes"));
    throw IoError(str("decode_image: '", name, "' is not a valid PNG: ", d.message));
  };
  if (!png_read_header(d)) fail();
  check<IoError>(out.channels == 1 || out.channels == 3, "decode_image: '", name, "': libpng gave ", out.channels,
                 " channels, expected 1 or 3");
  const std::size_t stride = std::size_t(out.width) * std::size_t(out.channels);
  check<IoError>(png_get_rowbytes(d.png, d.info) == stride, "decode_image: '", name, "': libpng gave rows of ",
                 png_get_rowbytes(d.png, d.info), " bytes, expected ", stride);
  out.pixels.resize(stride * std::size_t(out.height));
  rows.resize(std::size_t(out.height));
  for (Index y = 0; y < out.height; ++y) rows[std::size_t(y)] = out.pixels.data() + std::size_t(y) * stride;
  if (!png_read_pixels(d)) fail();
  return out;
}

// ---- JPEG ---------------------------------------------------------------------------------------------

/// A JPEG with more scans than this is refused (a crafted progressive file can otherwise take minutes:
/// libjpeg-turbo's advice, as its djpeg -maxscans).
inline constexpr int max_jpeg_scans = 500;

struct JpegDecoder {
  jpeg_decompress_struct cinfo;
  jpeg_error_mgr err;
  jpeg_progress_mgr progress;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = "";
  bool truncated = false, too_large = false, created = false;
  RawImage* out = nullptr;
  std::vector<JSAMPROW>* rows = nullptr;
};

extern "C" inline void simile_jpeg_error(j_common_ptr c) {
  auto* d = reinterpret_cast<JpegDecoder*>(reinterpret_cast<char*>(c->err) - offsetof(JpegDecoder, err));
  (*c->err->format_message)(c, d->message);
  std::longjmp(d->jump, 1);
}
extern "C" inline void simile_jpeg_message(j_common_ptr c, int level) {
  if (level >= 0) return;  // trace messages
  auto* d = reinterpret_cast<JpegDecoder*>(reinterpret_cast<char*>(c->err) - offsetof(JpegDecoder, err));
  // Other warnings (extraneous bytes before a marker, say) leave a usable image, as other readers accept.
  if (c->err->msg_code == JWRN_JPEG_EOF || c->err->msg_code == JWRN_HIT_MARKER) d->truncated = true;
  c->err->num_warnings++;
}
extern "C" inline void simile_jpeg_progress(j_common_ptr c) {
  auto* cinfo = reinterpret_cast<j_decompress_ptr>(c);
  if (cinfo->input_scan_number > max_jpeg_scans) {
    auto* d = reinterpret_cast<JpegDecoder*>(reinterpret_cast<char*>(c->err) - offsetof(JpegDecoder, err));
    std::snprintf(d->message, sizeof d->message, "more than %d scans", max_jpeg_scans);
    std::longjmp(d->jump, 1);
  }
}

inline bool jpeg_read_header_step(JpegDecoder& d, const std::uint8_t* data, std::size_t size) {
  if (setjmp(d.jump)) return false;
  jpeg_create_decompress(&d.cinfo);
  d.created = true;
  d.cinfo.progress = &d.progress;
  jpeg_mem_src(&d.cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&d.cinfo, TRUE);
  if (Index(d.cinfo.image_width) * Index(d.cinfo.image_height) > max_image_pixels) {
    d.too_large = true;
    return false;
  }
  d.cinfo.out_color_space = d.cinfo.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&d.cinfo);
  d.out->width = Index(d.cinfo.output_width), d.out->height = Index(d.cinfo.output_height);
  d.out->channels = d.cinfo.output_components;
  return true;
}

inline bool jpeg_read_pixels_step(JpegDecoder& d) {
  if (setjmp(d.jump)) return false;
  while (d.cinfo.output_scanline < d.cinfo.output_height) {
    JDIMENSION before = d.cinfo.output_scanline;
    jpeg_read_scanlines(&d.cinfo, d.rows->data() + before, d.cinfo.output_height - before);
    if (d.cinfo.output_scanline == before) {  // cannot happen with a memory source; never loop forever
      std::snprintf(d.message, sizeof d.message, "libjpeg made no progress");
      return false;
    }
  }
  jpeg_finish_decompress(&d.cinfo);
  return true;
}

inline RawImage decode_jpeg_raw(std::span<const std::uint8_t> bytes, const std::string& name) {
  RawImage out;
  std::vector<JSAMPROW> rows;
  JpegDecoder d;
  d.out = &out, d.rows = &rows;
  d.cinfo.err = jpeg_std_error(&d.err);
  d.err.error_exit = simile_jpeg_error;
  d.err.emit_message = simile_jpeg_message;
  d.progress = {};
  d.progress.progress_monitor = simile_jpeg_progress;
  struct Release {
    JpegDecoder& d;
    ~Release() {
      if (d.created) jpeg_destroy_decompress(&d.cinfo);
    }
  } release{d};
  auto fail = [&] {
    if (d.too_large)
      throw IoError(str("decode_image: '", name, "' is a ", d.cinfo.image_width, "x", d.cinfo.image_height,
                        " JPEG, more than the ", max_image_pixels, " pixels simile decodes"));
    throw IoError(str("decode_image: '", name, "' is not a valid JPEG: ", d.message));
  };
  if (!jpeg_read_header_step(d, bytes.data(), bytes.size())) fail();
  check<IoError>(out.channels == 1 || out.channels == 3, "decode_image: '", name, "': libjpeg gave ", out.channels,
                 " channels, expected 1 or 3");
  const std::size_t stride = std::size_t(out.width) * std::size_t(out.channels);
  out.pixels.resize(stride * std::size_t(out.height));
  rows.resize(std::size_t(out.height));
  for (Index y = 0; y < out.height; ++y) rows[std::size_t(y)] = out.pixels.data() + std::size_t(y) * stride;
  if (!jpeg_read_pixels_step(d)) fail();
  if (d.truncated)
    throw IoError(str("decode_image: '", name, "' is not a valid JPEG: its data ends early (truncated or corrupt)"));
  return out;
}

// ---- conversion ---------------------------------------------------------------------------------------

/// [H, W, c] interleaved -> [channels, H, W] planar, converting gray <-> RGB.
inline Tensor<std::uint8_t> to_planar(const RawImage& raw, int channels) {
  Tensor<std::uint8_t> t = Tensor<std::uint8_t>::empty({channels, raw.height, raw.width});
  const std::size_t plane = std::size_t(raw.height) * std::size_t(raw.width);
  const std::uint8_t* in = raw.pixels.data();
  std::uint8_t* o = t.data();
  if (raw.channels == 1) {
    for (int c = 0; c < channels; ++c) std::memcpy(o + c * plane, in, plane);
  } else if (channels == 3) {
    for (std::size_t i = 0; i < plane; ++i)
      o[i] = in[3 * i], o[plane + i] = in[3 * i + 1], o[2 * plane + i] = in[3 * i + 2];
  } else {
    for (std::size_t i = 0; i < plane; ++i)
      o[i] = static_cast<std::uint8_t>((299u * in[3 * i] + 587u * in[3 * i + 1] + 114u * in[3 * i + 2] + 500u) / 1000u);
  }
  return t;
}

/// [C, H, W] with its rows (`rows` true) or its columns halved: the mean of each pair, rounded up at .5.
inline Tensor<std::uint8_t> halve(const Tensor<std::uint8_t>& in, bool rows) {
  const Index c = in.dim(0), h = in.dim(1), w = in.dim(2);
  const Index oh = rows ? h / 2 : h, ow = rows ? w : w / 2;
  Tensor<std::uint8_t> out = Tensor<std::uint8_t>::empty({c, oh, ow});
  const std::uint8_t* s = in.data();
  std::uint8_t* d = out.data();
  for (Index k = 0; k < c; ++k)
    for (Index y = 0; y < oh; ++y)
      for (Index x = 0; x < ow; ++x) {
        const std::uint8_t* p = s + (k * h + (rows ? 2 * y : y)) * w + (rows ? x : 2 * x);
        const unsigned b = rows ? p[w] : p[1];
        d[(k * oh + y) * ow + x] = static_cast<std::uint8_t>((p[0] + b + 1u) / 2u);
      }
  return out;
}

}  // namespace simile::detail

namespace simile {

SIMILE_INLINE Tensor<std::uint8_t> decode_image(std::span<const std::uint8_t> bytes, int channels,
                                                const std::string& name) {
  check<ValueError>(channels == 1 || channels == 3, "decode_image: channels ", channels, " must be 1 or 3");
  static constexpr std::uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  detail::RawImage raw;
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), png_magic, 8) == 0) {
    raw = detail::decode_png_raw(bytes, name);
  } else if (bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) {
    raw = detail::decode_jpeg_raw(bytes, name);
  } else {
    throw IoError(detail::str("decode_image: '", name, "' is neither a PNG nor a JPEG (", bytes.size(),
                              " bytes, without either signature)"));
  }
  check<IoError>(raw.width > 0 && raw.height > 0, "decode_image: '", name, "' has no pixels (", raw.width, "x",
                 raw.height, ")");
  return detail::to_planar(raw, channels);
}

SIMILE_INLINE Tensor<std::uint8_t> read_image(const std::string& path, int channels) {
  FileReader in(path, "read_image");
  std::vector<unsigned char> bytes = in.read_rest();
  return decode_image(bytes, channels, path);
}

SIMILE_INLINE Tensor<std::uint8_t> resize_bilinear(const Tensor<std::uint8_t>& image, Index height, Index width) {
  check<ShapeError>(image.rank() == 3 && image.numel() > 0, "resize_bilinear: image of shape ", image.shape(),
                    ", expected a non-empty [C, H, W]");
  check<ValueError>(height >= 1 && width >= 1, "resize_bilinear: size ", height, "x", width, " must be positive");
  Tensor<std::uint8_t> in = image;
  while (in.dim(1) >= 2 * height) in = detail::halve(in, true);
  while (in.dim(2) >= 2 * width) in = detail::halve(in, false);
  const Index c = in.dim(0), h = in.dim(1), w = in.dim(2);
  Tensor<std::uint8_t> out = Tensor<std::uint8_t>::empty({c, height, width});
  if (h == height && w == width) {
    std::memcpy(out.data(), in.data(), std::size_t(in.numel()));
    return out;
  }
  // Source coordinate of each output row and column: the lower neighbour and the weight of the upper.
  auto taps = [](Index in_size, Index out_size, std::vector<Index>& lo, std::vector<float>& frac) {
    lo.resize(std::size_t(out_size)), frac.resize(std::size_t(out_size));
    const double scale = double(in_size) / double(out_size);
    for (Index i = 0; i < out_size; ++i) {
      double s = std::clamp((double(i) + 0.5) * scale - 0.5, 0.0, double(in_size - 1));
      Index l = std::min<Index>(Index(s), in_size - 1);
      lo[std::size_t(i)] = l, frac[std::size_t(i)] = float(s - double(l));
    }
  };
  std::vector<Index> ylo, xlo;
  std::vector<float> yf, xf;
  taps(h, height, ylo, yf);
  taps(w, width, xlo, xf);
  for (Index k = 0; k < c; ++k) {
    const std::uint8_t* plane = in.data() + k * h * w;
    std::uint8_t* o = out.data() + k * height * width;
    for (Index y = 0; y < height; ++y) {
      const std::uint8_t* r0 = plane + ylo[std::size_t(y)] * w;
      const std::uint8_t* r1 = plane + std::min(ylo[std::size_t(y)] + 1, h - 1) * w;
      const float fy = yf[std::size_t(y)];
      for (Index x = 0; x < width; ++x) {
        const Index x0 = xlo[std::size_t(x)], x1 = std::min(x0 + 1, w - 1);
        const float fx = xf[std::size_t(x)];
        const float top = float(r0[x0]) + fx * (float(r0[x1]) - float(r0[x0]));
        const float bottom = float(r1[x0]) + fx * (float(r1[x1]) - float(r1[x0]));
        const float v = top + fy * (bottom - top);
        o[y * width + x] = static_cast<std::uint8_t>(std::clamp(v + 0.5f, 0.0f, 255.0f));
      }
    }
  }
  return out;
}

SIMILE_INLINE Tensor<std::uint8_t> center_crop(const Tensor<std::uint8_t>& image, Index height, Index width) {
  check<ShapeError>(image.rank() == 3, "center_crop: image of shape ", image.shape(), ", expected [C, H, W]");
  const Index c = image.dim(0), h = image.dim(1), w = image.dim(2);
  check<ValueError>(height >= 1 && width >= 1 && height <= h && width <= w, "center_crop: size ", height, "x", width,
                    " does not fit in the ", h, "x", w, " image");
  const Index top = (h - height) / 2, left = (w - width) / 2;
  Tensor<std::uint8_t> out = Tensor<std::uint8_t>::empty({c, height, width});
  for (Index k = 0; k < c; ++k)
    for (Index y = 0; y < height; ++y)
      std::memcpy(out.data() + (k * height + y) * width, image.data() + (k * h + top + y) * w + left,
                  std::size_t(width));
  return out;
}

SIMILE_INLINE Tensor<std::uint8_t> fit_image(const Tensor<std::uint8_t>& image, Index height, Index width,
                                             ImageFit fit) {
  check<ShapeError>(image.rank() == 3 && image.numel() > 0, "fit_image: image of shape ", image.shape(),
                    ", expected a non-empty [C, H, W]");
  if (fit == ImageFit::resize) return resize_bilinear(image, height, width);
  check<ValueError>(height >= 1 && width >= 1, "fit_image: size ", height, "x", width, " must be positive");
  const Index h = image.dim(1), w = image.dim(2);
  const double scale = std::max(double(height) / double(h), double(width) / double(w));
  Index sh = std::max<Index>(height, Index(double(h) * scale + 0.5));
  Index sw = std::max<Index>(width, Index(double(w) * scale + 0.5));
  if ((h == height && w >= width) || (w == width && h >= height)) sh = h, sw = w;
  return center_crop(sh == h && sw == w ? image : resize_bilinear(image, sh, sw), height, width);
}

namespace detail {
// The encoded bytes of a PNG, gathered in memory and written through AtomicFile afterwards.
extern "C" inline void simile_png_write(png_structp png, png_bytep data, png_size_t n) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + n);
}
extern "C" inline void simile_png_flush(png_structp) {}

struct PngEncoder {
  png_structp png = nullptr;
  png_infop info = nullptr;
  char message[256] = "";
  const Tensor<std::uint8_t>* image = nullptr;
  std::vector<std::uint8_t>* out = nullptr;
  std::vector<std::uint8_t>* row = nullptr;
};
inline bool png_encode_step(PngEncoder& e) {
  if (setjmp(png_jmpbuf(e.png))) return false;
  const Index c = e.image->dim(0), h = e.image->dim(1), w = e.image->dim(2);
  static constexpr int types[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                  PNG_COLOR_TYPE_RGB_ALPHA};
  png_set_write_fn(e.png, e.out, simile_png_write, simile_png_flush);
  png_set_IHDR(e.png, e.info, png_uint_32(w), png_uint_32(h), 8, types[c - 1], PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(e.png, e.info);
  const std::uint8_t* p = e.image->data();
  for (Index y = 0; y < h; ++y) {
    for (Index x = 0; x < w; ++x)
      for (Index k = 0; k < c; ++k) (*e.row)[std::size_t(x * c + k)] = p[(k * h + y) * w + x];
    png_write_row(e.png, e.row->data());
  }
  png_write_end(e.png, nullptr);
  return true;
}

struct JpegEncoder {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = "";
  bool created = false;
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  const Tensor<std::uint8_t>* image = nullptr;
  int quality = 90;
  std::vector<std::uint8_t>* row = nullptr;
};
extern "C" inline void simile_jpeg_encode_error(j_common_ptr c) {
  auto* e = reinterpret_cast<JpegEncoder*>(reinterpret_cast<char*>(c->err) - offsetof(JpegEncoder, err));
  (*c->err->format_message)(c, e->message);
  std::longjmp(e->jump, 1);
}
inline bool jpeg_encode_step(JpegEncoder& e) {
  if (setjmp(e.jump)) return false;
  jpeg_create_compress(&e.cinfo);
  e.created = true;
  jpeg_mem_dest(&e.cinfo, &e.buffer, &e.size);
  const Index c = e.image->dim(0), h = e.image->dim(1), w = e.image->dim(2);
  e.cinfo.image_width = JDIMENSION(w), e.cinfo.image_height = JDIMENSION(h);
  e.cinfo.input_components = int(c);
  e.cinfo.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&e.cinfo);
  jpeg_set_quality(&e.cinfo, e.quality, TRUE);
  jpeg_start_compress(&e.cinfo, TRUE);
  const std::uint8_t* p = e.image->data();
  while (e.cinfo.next_scanline < e.cinfo.image_height) {
    const Index y = Index(e.cinfo.next_scanline);
    for (Index x = 0; x < w; ++x)
      for (Index k = 0; k < c; ++k) (*e.row)[std::size_t(x * c + k)] = p[(k * h + y) * w + x];
    JSAMPROW r = e.row->data();
    jpeg_write_scanlines(&e.cinfo, &r, 1);
  }
  jpeg_finish_compress(&e.cinfo);
  return true;
}

inline void write_file_atomically(const std::string& path, const char* who, const std::uint8_t* data,
                                  std::size_t n) {
  AtomicFile f(path, who);
  f.write(data, n);
  f.commit();
}
}  // namespace detail

SIMILE_INLINE void write_png(const std::string& path, const Tensor<std::uint8_t>& image) {
  check<ShapeError>(image.rank() == 3 && image.dim(0) >= 1 && image.dim(0) <= 4 && image.dim(1) >= 1 &&
                        image.dim(2) >= 1 && image.dim(1) <= (1 << 24) && image.dim(2) <= (1 << 24),
                    "write_png: image of shape ", image.shape(), ", expected [C, H, W] with C 1 to 4");
  std::vector<std::uint8_t> bytes, row(std::size_t(image.dim(0) * image.dim(2)));
  detail::PngEncoder e;
  e.image = &image, e.out = &bytes, e.row = &row;
  e.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, e.message, detail::simile_png_error, detail::simile_png_warning);
  if (e.png) e.info = png_create_info_struct(e.png);
  struct Release {
    detail::PngEncoder& e;
    ~Release() { png_destroy_write_struct(&e.png, &e.info); }
  } release{e};
  check<IoError>(e.png && e.info, "write_png: '", path, "': libpng could not start (out of memory?)");
  if (!detail::png_encode_step(e)) throw IoError(detail::str("write_png: '", path, "': libpng failed: ", e.message));
  detail::write_file_atomically(path, "write_png", bytes.data(), bytes.size());
}

SIMILE_INLINE void write_jpeg(const std::string& path, const Tensor<std::uint8_t>& image, int quality) {
  check<ShapeError>(image.rank() == 3 && (image.dim(0) == 1 || image.dim(0) == 3) && image.dim(1) >= 1 &&
                        image.dim(2) >= 1 && image.dim(1) <= 65500 && image.dim(2) <= 65500,
                    "write_jpeg: image of shape ", image.shape(), ", expected [C, H, W] with C 1 or 3, sides to 65500");
  check<ValueError>(quality >= 1 && quality <= 100, "write_jpeg: quality ", quality, " must be in [1, 100]");
  std::vector<std::uint8_t> row(std::size_t(image.dim(0) * image.dim(2)));
  detail::JpegEncoder e;
  e.image = &image, e.quality = quality, e.row = &row;
  e.cinfo.err = jpeg_std_error(&e.err);
  e.err.error_exit = detail::simile_jpeg_encode_error;
  struct Release {
    detail::JpegEncoder& e;
    ~Release() {
      if (e.created) jpeg_destroy_compress(&e.cinfo);
      std::free(e.buffer);
    }
  } release{e};
  if (!detail::jpeg_encode_step(e)) throw IoError(detail::str("write_jpeg: '", path, "': libjpeg failed: ", e.message));
  detail::write_file_atomically(path, "write_jpeg", e.buffer, e.size);
}

}  // namespace simile
