// augment_grid: a PNG contact sheet of augmented views, to check by eye that a pipeline does what it
// should. Rows are Fashion-MNIST images; column 0 is the original, the others are views through the
// SimCLR Fashion-MNIST pipeline (RandomResizedCrop 28 scale (0.2, 1), flip p 0.5, brightness/contrast
// jitter p 0.8, Gaussian noise), or with --extra also rotation, blur, solarize and erasing.
//
//   augment_grid [--out grid.png] [--seed 1] [--count 8] [--views 7] [--scale 4] [--extra]
//                [--data /usr/share/datasets/fashion-mnist]

#include <iostream>
#include <string>
#include <vector>

#include "simile/simile.hpp"
#include "support/command_line.hpp"

namespace {
using namespace simile;

struct Args {
  std::string out = "augment_grid.png";
  std::string data = fashion_mnist_dir;
  std::uint64_t seed = 1;
  Index count = 8;
  int views = 7;
  Index scale = 4;
  bool extra = false;
};

/// The command line, with the same ranges as the `simile` tool (a bad value exits with status 2).
void declare(examples::CommandLine& cli, Args& a) {
  cli.option("--out", a.out, "PNG to write")
      .option("--data", a.data, "Fashion-MNIST folder", /*existing_directory=*/true)
      .option("--seed", a.seed, "seed of the views", 0, std::uint64_t{1} << 62)
      .option("--count", a.count, "images (rows)", 1, 1000)
      .option("--views", a.views, "views per image", 1, 64)
      .option("--scale", a.scale, "pixels per image pixel", 1, 16)
      .flag("--extra", a.extra, "also rotation, blur, solarize and erasing");
}

void run(const Args& a) {
  ImageDataset data = load_fashion_mnist(a.data, "test");
  check<ValueError>(a.count <= data.size(), "augment_grid: --count ", a.count, " above the ", data.size(), " images");
  Pipeline p;
  p.add(RandomResizedCrop({.height = 28, .width = 28, .scale = {0.2, 1.0}}))
      .add(HorizontalFlip{}, 0.5)
      .add(ColorJitter({.brightness = 0.4, .contrast = 0.4}), 0.8)
      .add(GaussianNoise({.sigma = {0.0, 0.05}}));
  if (a.extra) {
    p.add(RandomRotation({.degrees = 15}), 0.5)
        .add(GaussianBlur({.kernel_size = 3, .sigma = {0.1, 1.5}}), 0.3)
        .add(Solarize(0.5f), 0.2)
        .add(RandomErasing({.scale = {0.02, 0.2}}), 0.3);
  }
  MultiView views = MultiView::same(p, a.views);
  // A seeded pick of images, so --seed changes which images appear as well as their views.
  std::vector<Index> order(static_cast<std::size_t>(data.size()));
  for (Index i = 0; i < data.size(); ++i) order[std::size_t(i)] = i;
  Rng pick = Rng::stream(a.seed, 0xC0FFEE);
  shuffle(order, pick);
  order.resize(std::size_t(a.count));
  ViewWorkspace ws;
  std::vector<Tensor<float>> v = views.make_batch(data, order, a.seed, 0, ws);

  const Index cell = 28 * a.scale, gap = 2 * a.scale, cols = 1 + a.views;
  const Index W = cols * cell + (cols + 1) * gap, H = a.count * cell + (a.count + 1) * gap;
  std::vector<std::uint8_t> img(std::size_t(W * H), 128);  // mid gray frame between cells
  auto put = [&](Index row, Index col, auto value_at) {
    Index oy = gap + row * (cell + gap), ox = gap + col * (cell + gap);
    for (Index y = 0; y < cell; ++y)
      for (Index x = 0; x < cell; ++x) img[std::size_t((oy + y) * W + ox + x)] = value_at(y / a.scale, x / a.scale);
  };
  for (Index r = 0; r < a.count; ++r) {
    const std::uint8_t* orig = data.get(order[std::size_t(r)]).pixels;
    put(r, 0, [&](Index y, Index x) { return orig[y * 28 + x]; });
    for (int c = 0; c < a.views; ++c) {
      const float* view = v[std::size_t(c)].data() + r * 28 * 28;
      put(r, 1 + c, [&](Index y, Index x) {
        float f = std::clamp(view[y * 28 + x], 0.0f, 1.0f);
        return static_cast<std::uint8_t>(std::lround(f * 255.0f));
      });
    }
  }
  write_png(a.out, Tensor<std::uint8_t>::from(img, {1, H, W}));
  std::cout << "wrote " << a.out << ": " << a.count << " images x (original + " << a.views << " views), seed " << a.seed
            << ", labels";
  for (Index i : order) std::cout << ' ' << data.get(i).label;
  std::cout << '\n';
}

}  // namespace

int main(int argc, char** argv) {
  examples::CommandLine cli("augment_grid", "A PNG contact sheet of augmented Fashion-MNIST views");
  Args a;
  declare(cli, a);
  return cli.run(argc, argv, [&] { run(a); });
}
