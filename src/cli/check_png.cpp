// check_png: checks PNG files the tool wrote, with simile's own reader (ctest simile.cli.plot_png):
//
//   check_png WxH FILE... [WxH FILE...]
//
// Each FILE must decode (read_image, RGB), be W x H, and be drawn on: its pixel values vary (variance above
// 100) and at least 1 % of its pixels are not the white background. Prints one line a file; exits 1 when any
// file fails.

#include <cstdio>
#include <exception>
#include <string>

#include "simile/data/image_file.hpp"

int main(int argc, char** argv) {
  long width = 0, height = 0;
  int failed = 0, checked = 0;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    if (std::sscanf(arg.c_str(), "%ldx%ld", &width, &height) == 2 && arg.find('.') == std::string::npos) continue;
    ++checked;
    try {
      const simile::Tensor<std::uint8_t> img = simile::read_image(arg, 3);
      const long h = long(img.dim(1)), w = long(img.dim(2)), n = h * w;
      double sum = 0, sum2 = 0;
      long drawn = 0;
      for (long i = 0; i < n; ++i) {
        const int r = img.data()[i], g = img.data()[n + i], b = img.data()[2 * n + i];
        const double v = (r + g + b) / 3.0;
        sum += v, sum2 += v * v;
        drawn += r < 250 || g < 250 || b < 250;
      }
      const double mean = sum / double(n), variance = sum2 / double(n) - mean * mean, share = double(drawn) / double(n);
      std::string problem;
      if (w != width || h != height)
        problem = "is " + std::to_string(w) + " x " + std::to_string(h) + ", expected " + std::to_string(width) +
                  " x " + std::to_string(height);
      else if (variance <= 100)
        problem = "is blank (pixel variance " + std::to_string(variance) + ")";
      else if (share < 0.01)
        problem = "is nearly blank (" + std::to_string(100 * share) + " % of its pixels drawn)";
      std::printf("%s %s: %ld x %ld, pixel variance %.0f, %.1f %% drawn%s%s\n", problem.empty() ? "ok  " : "FAIL",
                  arg.c_str(), w, h, variance, 100 * share, problem.empty() ? "" : ": ", problem.c_str());
      failed += !problem.empty();
    } catch (const std::exception& e) {
      std::printf("FAIL %s: %s\n", arg.c_str(), e.what());
      ++failed;
    }
  }
  std::printf("%d files checked, %d failed\n", checked, failed);
  return failed > 0 || checked == 0 ? 1 : 0;
}
