// export_image_folder: Fashion-MNIST's IDX files written out as an image folder, one PNG (or JPEG) per
// image in torchvision's ImageFolder layout with a train/test pair:
//
//   <out>/train/<label>/<index>.png   (60000 images, or the first --train of them)
//   <out>/test/<label>/<index>.png    (10000, or the first --test)
//
// so that `simile train --data <out>` reads the same pixels (28x28 gray PNGs decode to exactly the IDX
// bytes) as `simile train` reads from the IDX files: the check that image folders train as well and as
// fast once cached. Class folders are the labels 0..9; file names are zero-padded indices.
//
//   export_image_folder --out fmnist_png [--data /usr/share/datasets/fashion-mnist] [--train 0] [--test 0]
//                       [--format png] [--threads 2]

#include <filesystem>
#include <iostream>
#include <string>

#include "simile/simile.hpp"
#include "support/command_line.hpp"

namespace {
using namespace simile;

struct Args {
  std::string out;
  std::string data = fashion_mnist_dir;
  std::string format = "png";
  Index train = 0, test = 0;
  int threads = 2;
};

void declare(examples::CommandLine& cli, Args& a) {
  cli.option("--out", a.out, "folder to write (created; train/ and test/ inside)")
      .option("--data", a.data, "Fashion-MNIST folder", /*existing_directory=*/true)
      .choice("--format", a.format, "image format", {"png", "jpg"})
      .option("--train", a.train, "training images written, the first N (0: all)", 0, 1'000'000'000)
      .option("--test", a.test, "test images written, the first N (0: all)", 0, 1'000'000'000)
      .option("--threads", a.threads, "threads writing", 1, 1024);
}

void export_split(const ImageDataset& d, Index count, const std::filesystem::path& dir, const std::string& format) {
  namespace fs = std::filesystem;
  const Index n = count > 0 ? std::min(count, d.size()) : d.size();
  for (int c = 0; c < 10; ++c) fs::create_directories(dir / std::to_string(c));
  parallel_for(0, n, 64, [&](Index begin, Index end) {
    for (Index i = begin; i < end; ++i) {
      ImageSample s = d.get(i);
      Tensor<std::uint8_t> image = Tensor<std::uint8_t>::from(
          std::span<const std::uint8_t>(s.pixels, std::size_t(s.channels * s.height * s.width)),
          {s.channels, s.height, s.width});
      char name[32];
      std::snprintf(name, sizeof name, "%05lld.%s", static_cast<long long>(i), format.c_str());
      const std::string path = (dir / std::to_string(s.label) / name).string();
      if (format == "png") write_png(path, image);
      else write_jpeg(path, image, 95);
    }
  });
  std::cout << "wrote " << n << " images to " << dir.string() << '\n';
}

void run(const Args& a) {
  check<ValueError>(!a.out.empty(), "export_image_folder: --out is required");
  ThreadScope threads(a.threads);
  export_split(load_fashion_mnist(a.data, "train"), a.train, std::filesystem::path(a.out) / "train", a.format);
  export_split(load_fashion_mnist(a.data, "test"), a.test, std::filesystem::path(a.out) / "test", a.format);
}

}  // namespace

int main(int argc, char** argv) {
  examples::CommandLine cli("export_image_folder", "Fashion-MNIST written out as a folder of PNG or JPEG images");
  Args a;
  declare(cli, a);
  return cli.run(argc, argv, [&] { run(a); });
}
