#include "support/testing.hpp"

#include <filesystem>
#include <fstream>

#include "simile/io.hpp"

namespace simile {
namespace {
namespace fs = std::filesystem;
using testing::throws_with;

struct TempDir {
  fs::path path;
  TempDir() : path(fs::temp_directory_path() / ("simile_st_" + std::to_string(::getpid()))) {
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string read_bytes(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void write_bytes(const std::string& p, const std::string& b) {
  std::ofstream out(p, std::ios::binary);
  out.write(b.data(), static_cast<std::streamsize>(b.size()));
}

TEST(Safetensors, RoundTripsEveryDtypeAndMetadata) {
  TempDir dir;
  TensorDict d;
  d.set("encoder.conv1.weight", testing::random_tensor<float>({4, 1, 3, 3}, 1));
  d.set("head.bias", testing::random_tensor<double>({7}, 2));
  d.set("encoder.bn1.num_batches_tracked", Tensor<std::int64_t>::scalar(12345678901LL));
  d.set("train.rng", Tensor<std::int32_t>::from({-1, 2}, {2}));
  d.set("empty", Tensor<std::uint8_t>::empty({0, 3}));
  d.metadata["recipe"] = "simclr";
  d.metadata["note"] = "quote \" and newline \n";
  save_safetensors(dir.file("a.safetensors"), d);
  TensorDict r = load_safetensors(dir.file("a.safetensors"));
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r.items()[0].first, "encoder.conv1.weight");  // order kept
  EXPECT_TRUE(testing::tensors_near(r.get<float>("encoder.conv1.weight"), d.get<float>("encoder.conv1.weight"), 0, 0));
  EXPECT_TRUE(testing::tensors_near(r.get<double>("head.bias"), d.get<double>("head.bias"), 0, 0));
  EXPECT_EQ(r.get<std::int64_t>("encoder.bn1.num_batches_tracked").item(), 12345678901LL);
  EXPECT_EQ(r.get<std::int32_t>("train.rng").at(0), -1);
  EXPECT_EQ(r.get<std::uint8_t>("empty").shape(), (Shape{0, 3}));
  EXPECT_EQ(r.metadata.at("recipe"), "simclr");
  EXPECT_EQ(r.metadata.at("note"), "quote \" and newline \n");
  EXPECT_TRUE(throws_with<IoError>([&] { r.get<double>("encoder.conv1.weight"); }, {"F32", "F64"}));
  EXPECT_TRUE(throws_with<IoError>([&] { r.get<float>("nope"); }, {"nope"}));
}

TEST(Safetensors, BytesFollowTheFormat) {
  TempDir dir;
  TensorDict d;
  d.set("w", Tensor<float>::from({1.0f, 2.0f}, {1, 2}));
  save_safetensors(dir.file("b.safetensors"), d);
  std::string b = read_bytes(dir.file("b.safetensors"));
  std::uint64_t n;
  std::memcpy(&n, b.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  std::string header = b.substr(8, n);
  EXPECT_EQ(header.substr(0, header.find_last_not_of(' ') + 1),
            R"({"w":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}})");
  ASSERT_EQ(b.size(), 8 + n + 8);
  float v[2];
  std::memcpy(v, b.data() + 8 + n, 8);
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], 2.0f);
}

TEST(Safetensors, TruncatedAndCorruptedFilesAreRejected) {
  TempDir dir;
  TensorDict d;
  d.set("w", testing::random_tensor<float>({16, 16}, 3));
  std::string p = dir.file("c.safetensors");
  save_safetensors(p, d);
  std::string good = read_bytes(p);
  write_bytes(p, good.substr(0, good.size() - 5));
  EXPECT_TRUE(throws_with<IoError>([&] { load_safetensors(p); }, {p, "data"}));
  write_bytes(p, good.substr(0, 20));
  EXPECT_TRUE(throws_with<IoError>([&] { load_safetensors(p); }, {p, "header length"}));
  write_bytes(p, good.substr(0, 4));
  EXPECT_TRUE(throws_with<IoError>([&] { load_safetensors(p); }, {p, "too short"}));
  std::string broken = good;
  broken[12] = '#';
  write_bytes(p, broken);
  EXPECT_TRUE(throws_with<IoError>([&] { load_safetensors(p); }, {p, "malformed JSON"}));
  std::string wrong = good;
  auto pos = wrong.find("\"F32\"");
  wrong.replace(pos, 5, "\"F64\"");  // twice the bytes the data holds
  write_bytes(p, wrong);
  EXPECT_TRUE(throws_with<IoError>([&] { load_safetensors(p); }, {p, "needs"}));
  EXPECT_TRUE(throws_with<IoError>([&] { load_safetensors(dir.file("missing")); }, {"cannot open"}));
}

TEST(Safetensors, AFailedSaveLeavesThePreviousFile) {
  TempDir dir;
  std::string p = dir.file("ckpt.safetensors");
  TensorDict d;
  d.set("w", Tensor<float>::full({3}, 1.0f));
  save_safetensors(p, d);
  std::string before = read_bytes(p);
  // Block the temporary file's name with a directory: the save must fail without touching p.
  fs::create_directories(p + ".tmp-" + std::to_string(::getpid()));
  d.set("w", Tensor<float>::full({3}, 2.0f));
  EXPECT_TRUE(throws_with<IoError>([&] { save_safetensors(p, d); }, {"left unchanged"}));
  EXPECT_EQ(read_bytes(p), before);
  EXPECT_EQ(load_safetensors(p).get<float>("w").at(0), 1.0f);
}

}  // namespace
}  // namespace simile
