#include "simile/augment.hpp"

#include <cmath>

#include "support/testing.hpp"

namespace simile {
namespace {
using testing::throws_with;

/// An image whose pixel (c, y, x) is (c * 100 + y * 10 + x) / 1000.
Image ramp(Index c, Index h, Index w) {
  Image im(c, h, w);
  for (Index ch = 0; ch < c; ++ch)
    for (Index y = 0; y < h; ++y)
      for (Index x = 0; x < w; ++x) im.at(ch, y, x) = static_cast<float>(ch * 100 + y * 10 + x) / 1000.0f;
  return im;
}
bool same(const Image& a, const Image& b, float tol = 1e-6f) {
  if (!(a.shape() == b.shape())) return false;
  for (Index i = 0; i < a.numel(); ++i)
    if (std::abs(a.data()[i] - b.data()[i]) > tol) return false;
  return true;
}

TEST(Image, LoadScalesBytesToUnitRange) {
  std::uint8_t px[4] = {0, 51, 128, 255};
  Image im;
  im.load(px, 1, 2, 2);
  EXPECT_EQ(im.shape(), (Shape{1, 2, 2}));
  EXPECT_FLOAT_EQ(im.at(0, 0, 1), 0.2f);
  EXPECT_FLOAT_EQ(im.at(0, 1, 1), 1.0f);
}

TEST(Geometry, FlipsMirror) {
  Image im = ramp(2, 3, 4);
  Rng rng(1);
  Image h = im;
  HorizontalFlip{}.apply(h, rng);
  Image v = im;
  VerticalFlip{}.apply(v, rng);
  for (Index c = 0; c < 2; ++c)
    for (Index y = 0; y < 3; ++y)
      for (Index x = 0; x < 4; ++x) {
        EXPECT_EQ(h.at(c, y, x), im.at(c, y, 3 - x));
        EXPECT_EQ(v.at(c, y, x), im.at(c, 2 - y, x));
      }
  HorizontalFlip{}.apply(h, rng);
  EXPECT_TRUE(same(h, im, 0));
}

TEST(Geometry, FullCropIsIdentityAndWindowsStayInside) {
  Image im = ramp(3, 9, 9);
  RandomResizedCrop crop({.height = 9, .width = 9, .scale = {1, 1}, .ratio = {1, 1}});
  for (std::uint64_t s = 0; s < 20; ++s) {
    Image out = im;
    Rng rng(s);
    crop.apply(out, rng);
    EXPECT_TRUE(same(out, im)) << "seed " << s;
  }
  RandomResizedCrop any({.height = 5, .width = 7, .scale = {0.08, 1.0}});
  for (std::uint64_t s = 0; s < 500; ++s) {
    Rng rng(s);
    auto [top, left, h, w] = any.window(28, 20, rng);
    ASSERT_TRUE(top >= 0 && left >= 0 && h >= 1 && w >= 1 && top + h <= 28 && left + w <= 20) << "seed " << s;
  }
  Image out = im;
  Rng rng(3);
  any.apply(out, rng);
  EXPECT_EQ(out.shape(), (Shape{3, 5, 7}));
}

TEST(Geometry, ResizeInterpolatesLinearly) {
  // Downscaling a horizontal ramp by 2 averages neighbour pairs (align_corners = False).
  Image im(1, 1, 4);
  for (Index x = 0; x < 4; ++x) im.at(0, 0, x) = static_cast<float>(x);
  Rng rng(0);
  Resize(1, 2).apply(im, rng);
  EXPECT_FLOAT_EQ(im.at(0, 0, 0), 0.5f);
  EXPECT_FLOAT_EQ(im.at(0, 0, 1), 2.5f);
}

TEST(Geometry, CropScaleControlsArea) {
  RandomResizedCrop crop({.height = 8, .width = 8, .scale = {0.2, 0.4}, .ratio = {1, 1}});
  double total = 0;
  for (std::uint64_t s = 0; s < 2000; ++s) {
    Rng rng = Rng::stream(9, s);
    auto [top, left, h, w] = crop.window(100, 100, rng);
    double a = double(h * w) / 10000.0;
    ASSERT_GE(a, 0.19);
    ASSERT_LE(a, 0.41);
    total += a;
  }
  EXPECT_NEAR(total / 2000, 0.3, 0.01);
}

TEST(Geometry, RotationByZeroAndByNinety) {
  Image im = ramp(1, 5, 5);
  RandomRotation rot({.degrees = 90});
  Image r0 = im;
  rot.rotate(r0, 0.0);
  EXPECT_TRUE(same(r0, im));
  Image r90 = im;
  rot.rotate(r90, 90.0);  // counter-clockwise: the right column becomes the top row
  for (Index y = 0; y < 5; ++y)
    for (Index x = 0; x < 5; ++x) EXPECT_NEAR(r90.at(0, y, x), im.at(0, x, 4 - y), 1e-5) << y << "," << x;
  // Small angles leave the center pixel where it is.
  Rng rng(2);
  Image small = im;
  RandomRotation({.degrees = 15}).apply(small, rng);
  EXPECT_NEAR(small.at(0, 2, 2), im.at(0, 2, 2), 1e-6);
}

TEST(Color, SolarizeInvertsAtOrAboveThresholdOnly) {
  Image im(1, 1, 5);
  float v[5] = {0.0f, 0.3f, 0.5f, 0.7f, 1.0f};
  std::copy(v, v + 5, im.data());
  Rng rng(0);
  Solarize(0.5f).apply(im, rng);
  float want[5] = {0.0f, 0.3f, 0.5f, 0.3f, 0.0f};
  for (int i = 0; i < 5; ++i) EXPECT_FLOAT_EQ(im.data()[i], want[i]);
}

TEST(Color, NormalizeByHand) {
  Image im = ramp(2, 1, 2);  // channel 0: 0, 0.001; channel 1: 0.1, 0.101
  Rng rng(0);
  Normalize({0.5f, 0.1f}, {0.25f, 0.5f}).apply(im, rng);
  EXPECT_FLOAT_EQ(im.at(0, 0, 0), -2.0f);
  EXPECT_FLOAT_EQ(im.at(0, 0, 1), (0.001f - 0.5f) / 0.25f);
  EXPECT_NEAR(im.at(1, 0, 0), 0.0f, 1e-6);
  EXPECT_NEAR(im.at(1, 0, 1), 0.002f, 1e-6);
  EXPECT_TRUE(throws_with<ShapeError>([&] { Normalize({0.5f, 0.5f, 0.5f}, {1, 1, 1}).apply(im, rng); },
                                      {"Normalize", "2 channels", "3 means"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { Normalize({0.5f}, {0.0f}); }, {"Normalize", "0"}));
}

TEST(Color, GrayscaleAndJitterRanges) {
  Image im = ramp(3, 4, 4);
  Rng rng(0);
  Image g = im;
  Grayscale{}.apply(g, rng);
  for (Index i = 0; i < 16; ++i) {
    float want = 0.299f * im.plane(0)[i] + 0.587f * im.plane(1)[i] + 0.114f * im.plane(2)[i];
    EXPECT_NEAR(g.plane(0)[i], want, 1e-6);
    EXPECT_EQ(g.plane(1)[i], g.plane(0)[i]);
    EXPECT_EQ(g.plane(2)[i], g.plane(0)[i]);
  }
  // Brightness alone scales every pixel by one factor in [0.6, 1.4].
  ColorJitter bright({.brightness = 0.4});
  for (std::uint64_t s = 0; s < 200; ++s) {
    Image b = ramp(1, 3, 3);
    Rng r(s);
    bright.apply(b, r);
    float f = b.at(0, 2, 2) / 0.022f;
    ASSERT_GE(f, 0.6f - 1e-5f);
    ASSERT_LE(f, 1.4f + 1e-5f);
    for (Index y = 0; y < 3; ++y)
      for (Index x = 0; x < 3; ++x) ASSERT_NEAR(b.at(0, y, x), f * (y * 10 + x) / 1000.0f, 1e-6);
  }
  // Contrast keeps the mean of an image that does not clip; full jitter keeps pixels in [0, 1].
  ColorJitter contrast({.contrast = 0.5});
  Image c = ramp(1, 4, 4);
  for (Index i = 0; i < 16; ++i) c.data()[i] += 0.4f;  // far from 0 and 1: no clipping
  Image before = c;
  Rng r(7);
  contrast.apply(c, r);
  double mean = 0;
  for (Index i = 0; i < 16; ++i) mean += c.data()[i];
  EXPECT_NEAR(mean / 16, 0.4165, 1e-5);
  EXPECT_FALSE(same(c, before, 1e-4f));
  ColorJitter all({.brightness = 0.8, .contrast = 0.8, .saturation = 0.8, .hue = 0.2});
  for (std::uint64_t s = 0; s < 100; ++s) {
    Image x = ramp(3, 4, 4);
    Rng rs(s);
    all.apply(x, rs);
    for (Index i = 0; i < x.numel(); ++i) ASSERT_TRUE(x.data()[i] >= 0.0f && x.data()[i] <= 1.0f);
  }
  EXPECT_TRUE(throws_with<ShapeError>([&] { Image four(4, 2, 2); all.apply(four, r); }, {"ColorJitter", "4 channels"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { ColorJitter({.hue = 0.7}); }, {"ColorJitter", "hue 0.7"}));
}

TEST(Color, HueShiftOfAFullTurnIsIdentityAndGrayIsFixed) {
  Image im(3, 1, 3);
  float rgb[3][3] = {{0.9f, 0.2f, 0.1f}, {0.3f, 0.6f, 0.2f}, {0.4f, 0.4f, 0.4f}};
  for (int p = 0; p < 3; ++p)
    for (int ch = 0; ch < 3; ++ch) im.at(ch, 0, p) = rgb[p][ch];
  Image a = im;
  detail::shift_hue(a.plane(0), a.plane(1), a.plane(2), 3, 1.0f / 3.0f);
  // A third of a turn maps red-dominant (0.9, 0.2, 0.1) to green-dominant (0.1, 0.9, 0.2).
  EXPECT_NEAR(a.at(0, 0, 0), 0.1f, 1e-5);
  EXPECT_NEAR(a.at(1, 0, 0), 0.9f, 1e-5);
  EXPECT_NEAR(a.at(2, 0, 0), 0.2f, 1e-5);
  EXPECT_NEAR(a.at(0, 0, 2), 0.4f, 1e-6);
  detail::shift_hue(a.plane(0), a.plane(1), a.plane(2), 3, 2.0f / 3.0f);
  EXPECT_TRUE(same(a, im, 1e-5f));
}

TEST(Filter, BlurKeepsConstantsAndMass) {
  Image im(2, 7, 5);
  std::fill(im.data(), im.data() + im.numel(), 0.37f);
  Rng rng(0);
  GaussianBlur blur({.sigma = {0.1, 3.0}});
  for (int k = 0; k < 10; ++k) blur.apply(im, rng);
  for (Index i = 0; i < im.numel(); ++i) ASSERT_NEAR(im.data()[i], 0.37f, 1e-5);
  // An impulse away from the borders spreads into a symmetric bump of total mass 1.
  Image dot(1, 15, 15);
  std::fill(dot.data(), dot.data() + dot.numel(), 0.0f);
  dot.at(0, 7, 7) = 1.0f;
  GaussianBlur({.kernel_size = 9}).blur(dot, 1.0);
  double mass = 0;
  for (Index i = 0; i < dot.numel(); ++i) mass += dot.data()[i];
  EXPECT_NEAR(mass, 1.0, 1e-5);
  EXPECT_NEAR(dot.at(0, 7, 6), dot.at(0, 6, 7), 1e-7);
  EXPECT_NEAR(dot.at(0, 7, 6) / dot.at(0, 7, 7), std::exp(-0.5), 1e-4);
  EXPECT_TRUE(throws_with<ValueError>([] { GaussianBlur({.kernel_size = 4}); }, {"GaussianBlur", "4"}));
  EXPECT_EQ(detail::reflect(-1, 5), 1);
  EXPECT_EQ(detail::reflect(5, 5), 3);
  EXPECT_EQ(detail::reflect(-9, 5), 1);
}

TEST(Filter, NoiseStatistics) {
  Image im(1, 100, 100);
  std::fill(im.data(), im.data() + im.numel(), 0.5f);
  Rng rng(11);
  GaussianNoise({.sigma = {0.05, 0.05}, .clip = false}).apply(im, rng);
  double m = 0, v = 0;
  for (Index i = 0; i < im.numel(); ++i) m += im.data()[i];
  m /= double(im.numel());
  for (Index i = 0; i < im.numel(); ++i) v += (im.data()[i] - m) * (im.data()[i] - m);
  v /= double(im.numel());
  EXPECT_NEAR(m, 0.5, 0.002);            // 4 standard errors of the mean (0.0005)
  EXPECT_NEAR(std::sqrt(v), 0.05, 0.001);
  Image clip(1, 50, 50);
  std::fill(clip.data(), clip.data() + clip.numel(), 0.99f);
  GaussianNoise({.sigma = {0.2, 0.2}}).apply(clip, rng);
  for (Index i = 0; i < clip.numel(); ++i) ASSERT_TRUE(clip.data()[i] >= 0.0f && clip.data()[i] <= 1.0f);
}

TEST(Filter, ErasingErasesOneRectangleOfTheRightSize) {
  RandomErasing erase({.scale = {0.1, 0.2}, .value = -1.0f});
  for (std::uint64_t s = 0; s < 200; ++s) {
    Image im(2, 20, 20);
    std::fill(im.data(), im.data() + im.numel(), 0.5f);
    Rng rng(s);
    erase.apply(im, rng);
    Index n = 0, y0 = 99, y1 = -1, x0 = 99, x1 = -1;
    for (Index y = 0; y < 20; ++y)
      for (Index x = 0; x < 20; ++x)
        if (im.at(0, y, x) == -1.0f) {
          ++n;
          y0 = std::min(y0, y), y1 = std::max(y1, y), x0 = std::min(x0, x), x1 = std::max(x1, x);
          ASSERT_EQ(im.at(1, y, x), -1.0f);
        }
    if (n == 0) continue;  // no rectangle fitted in 10 tries: allowed
    EXPECT_EQ(n, (y1 - y0 + 1) * (x1 - x0 + 1)) << "seed " << s;  // one solid rectangle
    EXPECT_GE(n, 0.1 * 400 * 0.6);
    EXPECT_LE(n, 0.2 * 400 * 1.6);
  }
}

TEST(Pipeline, ProbabilityOfRandomApply) {
  // Flip with p = 0.5 over 10,000 fixed-seed draws: 50 % +- 3 %.
  Pipeline p;
  p.add(HorizontalFlip{}, 0.5);
  int flipped = 0;
  for (int i = 0; i < 10000; ++i) {
    Image im = ramp(1, 1, 2);
    Rng rng = Rng::stream(2024, i);
    p.apply(im, rng);
    flipped += im.at(0, 0, 0) > im.at(0, 0, 1);
  }
  EXPECT_NEAR(flipped / 10000.0, 0.5, 0.03);
  int solarized = 0;
  RandomApply<Solarize> s(Solarize(0.0f), 0.2);
  for (int i = 0; i < 10000; ++i) {
    Image im = ramp(1, 1, 2);
    Rng rng = Rng::stream(7, i);
    s.apply(im, rng);
    solarized += im.at(0, 0, 0) == 1.0f;
  }
  EXPECT_NEAR(solarized / 10000.0, 0.2, 0.03);
  EXPECT_TRUE(throws_with<ValueError>([] { RandomApply<Solarize>(Solarize(), 1.5); }, {"RandomApply", "1.5"}));
}

TEST(Pipeline, StepsDrawFromTheirOwnStreams) {
  // Adding a step after the crop leaves the crop unchanged.
  RandomResizedCrop crop({.height = 6, .width = 6, .scale = {0.2, 1.0}});
  Pipeline a, b;
  a.add(crop);
  b.add(crop).add(GaussianNoise({.sigma = {0.0, 0.0}}));
  Image x = ramp(1, 12, 12), y = ramp(1, 12, 12);
  Rng r1(5), r2(5);
  a.apply(x, r1);
  b.apply(y, r2);
  EXPECT_TRUE(same(x, y));
}

}  // namespace
}  // namespace simile
