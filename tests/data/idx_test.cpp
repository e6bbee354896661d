#include "simile/data/idx.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <set>

#include "data/files.hpp"
#include "simile/data.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::Bytes;
using testing::put_be32;
using testing::TempDir;
using testing::throws_with;

/// An IDX image file of n images of rows x cols with pixel (k, r, c) = k * 31 + r * 7 + c (mod 256).
Bytes idx_images(std::uint32_t n, std::uint32_t rows, std::uint32_t cols) {
  Bytes b;
  put_be32(b, idx_images_magic);
  put_be32(b, n);
  put_be32(b, rows);
  put_be32(b, cols);
  for (std::uint32_t k = 0; k < n; ++k)
    for (std::uint32_t r = 0; r < rows; ++r)
      for (std::uint32_t c = 0; c < cols; ++c) b.push_back(static_cast<unsigned char>(k * 31 + r * 7 + c));
  return b;
}
Bytes idx_labels(std::uint32_t n) {
  Bytes b;
  put_be32(b, idx_labels_magic);
  put_be32(b, n);
  for (std::uint32_t k = 0; k < n; ++k) b.push_back(static_cast<unsigned char>(k % 10));
  return b;
}

void expect_images(const Tensor<std::uint8_t>& t, Index n, Index rows, Index cols) {
  ASSERT_EQ(t.shape(), (Shape{n, rows, cols}));
  for (Index k = 0; k < n; ++k)
    for (Index r = 0; r < rows; ++r)
      for (Index c = 0; c < cols; ++c)
        ASSERT_EQ(t.at(k, r, c), static_cast<std::uint8_t>(k * 31 + r * 7 + c)) << k << " " << r << " " << c;
}

TEST(Idx, PlainAndGzipRoundTrip) {
  TempDir dir;
  testing::write_bytes(dir.file("img"), idx_images(5, 4, 3));
  testing::write_gzip(dir.file("img.gz"), idx_images(5, 4, 3));
  testing::write_bytes(dir.file("lab"), idx_labels(5));
  testing::write_gzip(dir.file("lab.gz"), idx_labels(5));
  expect_images(read_idx_images(dir.file("img")), 5, 4, 3);
  expect_images(read_idx_images(dir.file("img.gz")), 5, 4, 3);
  EXPECT_EQ(read_idx_labels(dir.file("lab")), (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(read_idx_labels(dir.file("lab.gz")), (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(read_idx(dir.file("lab.gz")).shape(), Shape{5});

  ImageDataset d = load_mnist_idx(dir.file("img.gz"), dir.file("lab"));
  ASSERT_EQ(d.size(), 5);
  EXPECT_EQ(d.channels(), 1);
  ImageSample s = d.get(3);
  EXPECT_EQ(s.label, 3);
  EXPECT_EQ(s.pixels[2 * 3 + 1], static_cast<std::uint8_t>(3 * 31 + 2 * 7 + 1));
}

TEST(Idx, EmptyFileOfZeroImages) {
  TempDir dir;
  testing::write_bytes(dir.file("img"), idx_images(0, 28, 28));
  EXPECT_EQ(read_idx_images(dir.file("img")).shape(), (Shape{0, 28, 28}));
}

TEST(Idx, WrongKindOfFileNamesFileAndMagic) {
  TempDir dir;
  testing::write_bytes(dir.file("img"), idx_images(2, 2, 2));
  testing::write_bytes(dir.file("lab"), idx_labels(2));
  EXPECT_TRUE(throws_with<IoError>([&] { read_idx_labels(dir.file("img")); },
                                   {"read_idx_labels", dir.file("img"), "0x803", "0x00000801"}));
  EXPECT_TRUE(throws_with<IoError>([&] { read_idx_images(dir.file("lab")); },
                                   {"read_idx_images", dir.file("lab"), "expected 0x00000803"}));
  Bytes bad = idx_images(2, 2, 2);
  bad[0] = 0x42;
  testing::write_bytes(dir.file("bad"), bad);
  EXPECT_TRUE(throws_with<IoError>([&] { read_idx_images(dir.file("bad")); }, {dir.file("bad"), "not an IDX"}));
  bad = idx_images(2, 2, 2);
  bad[2] = 0x0D;
  testing::write_bytes(dir.file("float"), bad);
  EXPECT_TRUE(throws_with<IoError>([&] { read_idx_images(dir.file("float")); },
                                   {dir.file("float"), "0xd", "float32", "unsigned byte"}));
}

TEST(Idx, TruncatedAndOverlongFilesRejected) {
  TempDir dir;
  Bytes full = idx_images(3, 4, 4);
  Bytes cut(full.begin(), full.end() - 5);
  testing::write_bytes(dir.file("cut"), cut);
  EXPECT_TRUE(throws_with<IoError>([&] { read_idx_images(dir.file("cut")); },
                                   {"read_idx_images", dir.file("cut"), "header", "needs"}));
  testing::write_gzip(dir.file("cut.gz"), cut);
  EXPECT_TRUE(throws_with<IoError>([&] { read_idx_images(dir.file("cut.gz")); },
                                   {dir.file("cut.gz"), "truncated", "expected 48 bytes", "got 43"}));
  Bytes longer = full;
  longer.push_back(7);
  testing::write_gzip(dir.file("long.gz"), longer);
  EXPECT_TRUE(throws_with<IoError>([&] { read_idx_images(dir.file("long.gz")); }, {dir.file("long.gz"), "1 bytes after"}));
  Bytes header(full.begin(), full.begin() + 6);
  testing::write_bytes(dir.file("header"), header);
  EXPECT_TRUE(throws_with<IoError>([&] { read_idx_images(dir.file("header")); }, {dir.file("header"), "truncated"}));
  // A header that claims far more data than the file could hold is rejected before any allocation.
  Bytes huge;
  put_be32(huge, idx_images_magic);
  for (int i = 0; i < 3; ++i) put_be32(huge, 100000);
  testing::write_gzip(dir.file("huge.gz"), huge);
  EXPECT_TRUE(throws_with<IoError>([&] { read_idx_images(dir.file("huge.gz")); }, {dir.file("huge.gz"), "claims"}));
  Bytes widest;  // 2^32 - 1 in every dimension: the element count must not wrap around
  put_be32(widest, idx_images_magic);
  for (int i = 0; i < 3; ++i) put_be32(widest, 0xFFFFFFFFu);
  testing::write_bytes(dir.file("widest"), widest);
  EXPECT_TRUE(throws_with<IoError>([&] { read_idx_images(dir.file("widest")); }, {dir.file("widest"), "claims"}));
}

TEST(Idx, CorruptedAndTruncatedGzipStreams) {
  TempDir dir;
  testing::write_gzip(dir.file("ok.gz"), idx_images(20, 8, 8));
  Bytes gz = testing::read_bytes(dir.file("ok.gz"));
  Bytes cut(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() / 2));
  testing::write_bytes(dir.file("cut.gz"), cut);
  EXPECT_TRUE(throws_with<IoError>([&] { read_idx_images(dir.file("cut.gz")); }, {"read_idx_images", dir.file("cut.gz")}));
  Bytes flipped = gz;
  flipped[gz.size() - 6] ^= 0xFF;  // inside the CRC32 trailer
  testing::write_bytes(dir.file("crc.gz"), flipped);
  EXPECT_TRUE(throws_with<IoError>([&] { read_idx_images(dir.file("crc.gz")); }, {dir.file("crc.gz"), "corrupted"}));
}

// FileReader, under every reader of the data layer: a gzip file is verified to its end.
TEST(Idx, GzipIsVerifiedToTheEnd) {
  TempDir dir;
  Bytes plain = idx_images(3, 4, 4);
  testing::write_gzip(dir.file("ok.gz"), plain);
  Bytes gz = testing::read_bytes(dir.file("ok.gz"));
  expect_images(read_idx_images(dir.file("ok.gz")), 3, 4, 4);
  auto write = [&](const std::string& name, const Bytes& b) {
    testing::write_bytes(dir.file(name), b);
    return dir.file(name);
  };
  // Without its 8-byte CRC/length trailer, or half of it: every data byte is there, the check is not.
  for (std::size_t cut : {8, 4, 1}) {
    std::string p = write("cut" + std::to_string(cut) + ".gz", Bytes(gz.begin(), gz.end() - static_cast<long>(cut)));
    EXPECT_TRUE(throws_with<IoError>([&] { read_idx_images(p); }, {"read_idx_images", p, "truncated", "trailer"}))
        << cut;
  }
  Bytes length = gz;
  length[gz.size() - 4] ^= 1;  // ISIZE, the length modulo 2^32
  std::string p = write("length.gz", length);
  EXPECT_TRUE(throws_with<IoError>([&] { read_idx_images(p); }, {p, "corrupted", "incorrect length check"}));
  Bytes junk = gz;
  for (char c : std::string("junk")) junk.push_back(static_cast<unsigned char>(c));
  p = write("junk.gz", junk);
  EXPECT_TRUE(throws_with<IoError>([&] { read_idx_images(p); }, {p, "after the end of its gzip stream"}));
  // Concatenated members are one stream, as gzip(1) reads them.
  testing::write_gzip(dir.file("head.gz"), Bytes(plain.begin(), plain.begin() + 10));
  testing::write_gzip(dir.file("tail.gz"), Bytes(plain.begin() + 10, plain.end()));
  Bytes two = testing::read_bytes(dir.file("head.gz"));
  Bytes tail = testing::read_bytes(dir.file("tail.gz"));
  two.insert(two.end(), tail.begin(), tail.end());
  expect_images(read_idx_images(write("two.gz", two)), 3, 4, 4);
}

TEST(Idx, GzipHeaderClaimingMoreThanItsStreamIsNotAllocated) {
  TempDir dir;
  Bytes b;  // 300 x 10 x 10 images claimed (30000 bytes, within deflate's 1032:1 of the file), 16 present
  put_be32(b, idx_images_magic);
  put_be32(b, 300);
  put_be32(b, 10);
  put_be32(b, 10);
  b.resize(b.size() + 16, 0);
  testing::write_gzip(dir.file("claims.gz"), b);
  ASSERT_GT(std::filesystem::file_size(dir.file("claims.gz")) * 1032, 30000u);
  AllocatorStats before = CachingAllocator::instance().stats();
  EXPECT_TRUE(throws_with<IoError>([&] { read_idx_images(dir.file("claims.gz")); },
                                   {dir.file("claims.gz"), "truncated", "expected 30000 bytes", "got 16"}));
  AllocatorStats after = CachingAllocator::instance().stats();  // no tensor storage was asked for
  EXPECT_EQ(after.system_allocations + after.cache_hits, before.system_allocations + before.cache_hits);
}

TEST(Idx, NonRegularFilesAreRefusedWithoutBlocking) {
  TempDir dir;
  std::string fifo = dir.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_TRUE(throws_with<IoError>([&] { read_idx_images(fifo); }, {"read_idx_images", fifo, "not a regular file"}));
  EXPECT_TRUE(throws_with<IoError>([&] { read_npy<float>(fifo); }, {"read_npy", fifo, "not a regular file"}));
  EXPECT_TRUE(throws_with<IoError>([&] { read_cifar({fifo}); }, {"read_cifar", fifo, "not a regular file"}));
  EXPECT_TRUE(throws_with<IoError>([&] { read_csv(fifo); }, {"read_csv", fifo, "not a regular file"}));
  EXPECT_TRUE(throws_with<IoError>([&] { read_text_lines(fifo); }, {"read_text_lines", fifo, "not a regular file"}));
  std::string folder = dir.file("");
  EXPECT_TRUE(throws_with<IoError>([&] { read_idx_labels(folder); }, {"read_idx_labels", folder, "a directory"}));
}

TEST(Idx, MissingFileAndCountMismatch) {
  TempDir dir;
  EXPECT_TRUE(throws_with<IoError>([&] { read_idx_images(dir.file("nope")); },
                                   {"read_idx_images", "cannot open", dir.file("nope")}));
  testing::write_bytes(dir.file("img"), idx_images(4, 2, 2));
  testing::write_bytes(dir.file("lab"), idx_labels(3));
  EXPECT_TRUE(throws_with<IoError>([&] { load_mnist_idx(dir.file("img"), dir.file("lab")); },
                                   {"load_mnist_idx", "4 images", "3 labels"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { load_fashion_mnist(fashion_mnist_dir, "valid"); }, {"valid"}));
}

TEST(Idx, LabelsOutsideTheClassesAndEmptySetsAreRefused) {
  TempDir dir;
  testing::write_bytes(dir.file("img"), idx_images(3, 2, 2));
  Bytes labels = idx_labels(3);
  labels.back() = 10;  // Fashion-MNIST has classes 0..9
  testing::write_bytes(dir.file("lab"), labels);
  EXPECT_TRUE(throws_with<IoError>([&] { load_mnist_idx(dir.file("img"), dir.file("lab")); },
                                   {"load_mnist_idx", dir.file("lab"), "label 2 is 10", "0..9"}));
  EXPECT_EQ(load_mnist_idx(dir.file("img"), dir.file("lab"), 11).labels()[2], 10);
  testing::write_bytes(dir.file("img0"), idx_images(0, 2, 2));
  testing::write_bytes(dir.file("lab0"), idx_labels(0));
  EXPECT_TRUE(throws_with<IoError>([&] { load_mnist_idx(dir.file("img0"), dir.file("lab0")); },
                                   {dir.file("img0"), "no images"}));
}

TEST(Idx, RealFashionMnist) {
  std::string dir = fashion_mnist_dir;
  if (!std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz")) GTEST_SKIP() << "no Fashion-MNIST in " << dir;
  for (auto [split, n] : {std::pair{"train", 60000}, std::pair{"test", 10000}}) {
    ImageDataset d = load_fashion_mnist(dir, split);
    EXPECT_EQ(d.size(), n);
    EXPECT_EQ(d.images().shape(), (Shape{n, 1, 28, 28}));
    std::set<std::int64_t> classes(d.labels().begin(), d.labels().end());
    EXPECT_EQ(classes, (std::set<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    // Balanced classes: 6000 / 1000 each.
    for (std::int64_t c = 0; c < 10; ++c)
      EXPECT_EQ(std::count(d.labels().begin(), d.labels().end(), c), n / 10);
    auto [lo, hi] = std::minmax_element(d.images().begin(), d.images().end());
    EXPECT_EQ(*lo, 0);
    EXPECT_EQ(*hi, 255);
  }
}

}  // namespace
}  // namespace simile
