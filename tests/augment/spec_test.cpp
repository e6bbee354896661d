#include "support/testing.hpp"

#include <string>
#include <vector>

#include "simile/augment.hpp"

namespace simile {
namespace {
using testing::throws_with;

/// A 1x8x8 image with a ramp of values, so every transform changes something.
Image ramp() {
  Image im(1, 8, 8);
  for (Index y = 0; y < 8; ++y)
    for (Index x = 0; x < 8; ++x) im.at(0, y, x) = float(y * 8 + x) / 63.0f;
  return im;
}

std::vector<float> run(const Pipeline& p, std::uint64_t seed, Index size = 8) {
  Image im = ramp();
  Rng rng(seed);
  p.apply(im, rng);
  EXPECT_EQ(im.height(), size);
  return std::vector<float>(im.data(), im.data() + im.channels() * im.height() * im.width());
}

TEST(ImagePipelineSpec, TheDefaultIsTheHandBuiltPipelineBitForBit) {
  // What `simile train` built by hand before the spec existed: the same transforms, in the same order,
  // with the same probabilities, draw the same numbers.
  Pipeline by_hand;
  by_hand.add(RandomResizedCrop({.height = 8, .width = 8, .scale = {0.2, 1.0}}))
      .add(HorizontalFlip{}, 0.5)
      .add(ColorJitter({.brightness = 0.4, .contrast = 0.4}), 0.8)
      .add(GaussianNoise({.sigma = {0.0, 0.05}}));
  Pipeline spec = image_pipeline("default", 8, 8);
  EXPECT_EQ(spec.size(), 4u);
  for (std::uint64_t seed = 0; seed < 20; ++seed) EXPECT_EQ(run(spec, seed), run(by_hand, seed)) << seed;
  EXPECT_EQ(expand_image_augmentation("default"), std::string(kDefaultImageAugmentation));
  EXPECT_EQ(expand_image_augmentation("reference,noise:0.1"), std::string(kReferenceImageAugmentation) + ",noise:0.1");
}

TEST(ImagePipelineSpec, EachStepIsItsTransform) {
  auto same = [](const char* spec, Pipeline expected, Index size = 8) {
    Pipeline p = image_pipeline(spec, size, size);
    for (std::uint64_t seed = 0; seed < 8; ++seed) EXPECT_EQ(run(p, seed, size), run(expected, seed, size)) << spec;
  };
  same("crop:0.3:0.9", Pipeline().add(RandomResizedCrop({.height = 6, .width = 6, .scale = {0.3, 0.9}})), 6);
  same("resize", Pipeline().add(Resize(5, 5)), 5);
  same("flip", Pipeline().add(HorizontalFlip{}, 0.5));
  same("flip@1", Pipeline().add(HorizontalFlip{}));
  same("vflip@0.25", Pipeline().add(VerticalFlip{}, 0.25));
  same("rotate:15", Pipeline().add(RandomRotation({.degrees = 15})));
  same("jitter:0.4", Pipeline().add(ColorJitter({.brightness = 0.4, .contrast = 0.4})));
  same("jitter:0.4:0.2@0.8", Pipeline().add(ColorJitter({.brightness = 0.4, .contrast = 0.2}), 0.8));
  same("gray", Pipeline().add(Grayscale{}));
  same("solarize@0.2", Pipeline().add(Solarize(0.5f), 0.2));
  same("solarize:0.7", Pipeline().add(Solarize(0.7f)));
  same("blur:0.1:2", Pipeline().add(GaussianBlur({.kernel_size = 0, .sigma = {0.1, 2.0}})));
  same("noise:0.1", Pipeline().add(GaussianNoise({.sigma = {0.0, 0.1}})));
  same("erase@0.5", Pipeline().add(RandomErasing({}), 0.5));
  same("erase:0.1:0.2", Pipeline().add(RandomErasing({.scale = {0.1, 0.2}})));
  same("normalize:0.5:0.25", Pipeline().add(Normalize({0.5f}, {0.25f})));
  same("flip@1,rotate:10", Pipeline().add(HorizontalFlip{}).add(RandomRotation({.degrees = 10})));
  EXPECT_TRUE(image_pipeline("none", 8, 8).empty());
  EXPECT_TRUE(throws_with<ValueError>([] { image_pipeline("", 8, 8); }, {"image_pipeline", "empty spec", "'none'"}));
}

TEST(ImagePipelineSpec, NormalizeComputedByHand) {
  Image im = ramp();
  Rng rng(0);
  image_pipeline("normalize:0.5:0.25", 8, 8).apply(im, rng);
  EXPECT_FLOAT_EQ(im.at(0, 0, 0), -2.0f);         // (0 - 0.5) / 0.25
  EXPECT_FLOAT_EQ(im.at(0, 7, 7), 2.0f);          // (1 - 0.5) / 0.25
  EXPECT_FLOAT_EQ(im.at(0, 0, 1), (1.0f / 63 - 0.5f) / 0.25f);
}

TEST(ImagePipelineSpec, StepsListNamesAndTextsInOrder) {
  auto names = [](std::string_view spec) {
    std::vector<std::string> out;
    for (const AugmentationStep& s : image_augmentation_steps(spec)) out.push_back(s.name);
    return out;
  };
  EXPECT_EQ(names("default"), (std::vector<std::string>{"crop", "flip", "jitter", "noise"}));
  EXPECT_EQ(names("reference,normalize:0.3:0.4"), (std::vector<std::string>{"crop", "flip", "jitter", "normalize"}));
  EXPECT_TRUE(image_augmentation_steps("none").empty());
  std::vector<AugmentationStep> steps = image_augmentation_steps("blur:0.1:2@0.5,gray");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].text, "blur:0.1:2@0.5");
  EXPECT_EQ(steps[0].name, "blur");
  EXPECT_EQ(steps[1].text, "gray");
  for (const char* bad : {"crop:x", "flip@2", ",flip", "@0.5"})
    EXPECT_TRUE(throws_with<ValueError>([&] { image_augmentation_steps(bad); }, {"image_pipeline", bad})) << bad;
}

TEST(ImagePipelineSpec, ErrorsNameTheSpecAndTheStep) {
  auto bad = [](const char* spec, std::vector<std::string> parts) {
    parts.insert(parts.begin(), "image_pipeline");
    EXPECT_TRUE(throws_with<ValueError>([&] { image_pipeline(spec, 28, 28); }, parts)) << spec;
  };
  bad("crop:0.2,twirl", {"'crop:0.2,twirl'", "step 'twirl'", "unknown step 'twirl'"});
  bad("crop", {"step 'crop'", "crop takes 1 to 2 numbers, not 0"});
  bad("crop:0.1:0.5:0.9", {"crop takes 1 to 2 numbers, not 3"});
  bad("flip:1", {"flip takes 0 numbers, not 1"});
  bad("crop:abc", {"'abc' is not a number"});
  bad("crop:0.2x", {"'0.2x' is not a number"});
  bad("crop:", {"'' is not a number"});
  bad("crop:nan", {"'nan' is not a number"});
  bad("flip@1.5", {"probability 1.5 outside [0, 1]"});
  bad("flip@-0.1", {"probability -0.1 outside [0, 1]"});
  bad("flip@", {"'' is not a number"});
  bad("crop:0.2,,flip", {"step ''", "no name"});
  bad("@0.5", {"no name"});
  bad(",default", {"step ''", "no name"});
  bad("default,", {"step ''", "no name"});
  bad("crop:1.5", {"step 'crop:1.5'", "RandomResizedCrop", "scale"});
  bad("rotate:200", {"step 'rotate:200'", "RandomRotation", "degrees 200"});
  bad("jitter:0.4:0.4:0.4:0.9", {"ColorJitter", "hue 0.9"});
  bad("normalize:0.5:0", {"Normalize", "standard deviation 0"});
  bad("solarize:2", {"Solarize", "threshold 2"});
  bad("noise:-1", {"GaussianNoise"});
  bad("erase:0.5:0.1", {"RandomErasing"});
  bad("blur:0:1", {"GaussianBlur"});
  bad("erase:0.1", {"erase takes 0 or 2 numbers, not 1"});
  EXPECT_TRUE(throws_with<ValueError>([] { image_pipeline("flip", 0, 28); }, {"image_pipeline", "output size 0x28"}));
}

TEST(ImagePipelineSpec, MangledSpecsGiveAPipelineOrAValueError) {
  // Every mutation of a long valid spec (a character dropped, doubled or replaced) parses or is refused
  // with a ValueError: never another exception or a crash.
  const std::string good = "crop:0.2:0.9,flip@0.5,rotate:10,jitter:0.4:0.3@0.8,blur:0.1:2@0.5,noise:0.05,erase@0.25";
  const std::string alphabet = ",:@.-e0123456789xn ";
  int parsed = 0, refused = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::vector<std::string> variants{good.substr(0, i) + good.substr(i + 1), good.substr(0, i + 1) + good.substr(i)};
    for (char c : alphabet) variants.push_back(good.substr(0, i) + c + good.substr(i + 1));
    for (const std::string& v : variants) {
      try {
        Pipeline p = image_pipeline(v, 28, 28);
        Image im(1, 28, 28);
        Rng rng(1);
        p.apply(im, rng);
        ++parsed;
      } catch (const ValueError&) {
        ++refused;
      }
    }
  }
  EXPECT_GT(parsed, 100);
  EXPECT_GT(refused, 500);
}

}  // namespace
}  // namespace simile
