#include "simile/data/cifar.hpp"

#include "data/files.hpp"
#include "simile/data.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::Bytes;
using testing::TempDir;
using testing::throws_with;

/// n records; record k has labels (k % 20 coarse, k % 100 fine) or k % 10, pixel j = (k + j) mod 256.
Bytes cifar_records(int n, int label_bytes) {
  Bytes b;
  for (int k = 0; k < n; ++k) {
    if (label_bytes == 2) b.push_back(static_cast<unsigned char>(k % 20));
    b.push_back(static_cast<unsigned char>(label_bytes == 2 ? k % 100 : k % 10));
    for (int j = 0; j < 3072; ++j) b.push_back(static_cast<unsigned char>(k + j));
  }
  return b;
}

TEST(Cifar, ReadsTenAndHundredRecords) {
  TempDir dir;
  testing::write_bytes(dir.file("a.bin"), cifar_records(3, 1));
  testing::write_gzip(dir.file("b.bin.gz"), cifar_records(12, 1));
  ImageDataset d = read_cifar({dir.file("a.bin"), dir.file("b.bin.gz")});
  ASSERT_EQ(d.size(), 15);
  EXPECT_EQ(d.images().shape(), (Shape{15, 3, 32, 32}));
  EXPECT_EQ(d.get(2).label, 2);
  EXPECT_EQ(d.get(3 + 11).label, 1);
  // Pixel (channel 1, row 2, col 5) of record 2 is byte 1024 + 2 * 32 + 5 of its pixels.
  EXPECT_EQ(d.images().at(2, 1, 2, 5), static_cast<std::uint8_t>(2 + 1024 + 69));
  testing::write_bytes(dir.file("c100.bin"), cifar_records(150, 2));
  ImageDataset fine = read_cifar({dir.file("c100.bin")}, CifarFormat::cifar100_fine);
  ImageDataset coarse = read_cifar({dir.file("c100.bin")}, CifarFormat::cifar100_coarse);
  EXPECT_EQ(fine.get(123).label, 23);
  EXPECT_EQ(coarse.get(123).label, 3);
  EXPECT_EQ(fine.get(123).pixels[0], static_cast<std::uint8_t>(123));
}

TEST(Cifar, RejectsPartialRecordsAndBadLabels) {
  TempDir dir;
  Bytes two = cifar_records(2, 1);
  testing::write_bytes(dir.file("cut.bin"), Bytes(two.begin(), two.end() - 1));
  EXPECT_TRUE(throws_with<IoError>([&] { read_cifar({dir.file("cut.bin")}); },
                                   {"read_cifar", dir.file("cut.bin"), "6145 bytes", "3073-byte"}));
  testing::write_bytes(dir.file("c100.bin"), cifar_records(2, 2));  // 6148 bytes: not a multiple of 3073
  EXPECT_TRUE(throws_with<IoError>([&] { read_cifar({dir.file("c100.bin")}); }, {"6148 bytes"}));
  testing::write_bytes(dir.file("labels.bin"), cifar_records(3073, 2));  // size fits both; labels reach 99
  EXPECT_TRUE(throws_with<IoError>([&] { read_cifar({dir.file("labels.bin")}); },
                                   {dir.file("labels.bin"), "label", "expected 0..9", "CIFAR-100"}));
  testing::write_bytes(dir.file("empty.bin"), {});
  EXPECT_TRUE(throws_with<IoError>([&] { read_cifar({dir.file("empty.bin")}); }, {"0 bytes"}));
  EXPECT_TRUE(throws_with<IoError>([&] { load_cifar10(dir.file("nowhere")); }, {"cannot open", "data_batch_1.bin"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { load_cifar100(dir.file("x"), "val"); }, {"load_cifar100", "val"}));
}

}  // namespace
}  // namespace simile
