#include "support/testing.hpp"

#include <filesystem>
#include <fstream>

#include <sys/stat.h>

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

// A safetensors file from a header written by hand (padded to 8 bytes) and `data` bytes.
std::string raw_safetensors(std::string header, std::size_t data) {
  while (header.size() % 8) header += ' ';
  std::uint64_t n = header.size();
  std::string out(reinterpret_cast<const char*>(&n), 8);
  return out + header + std::string(data, '\0');
}
// One header entry: "name":{"dtype":..,"shape":..,"data_offsets":[begin,end]} (strings: bad ones too).
std::string entry(const std::string& name, const std::string& dtype, const std::string& shape, const std::string& begin,
                  const std::string& end) {
  return "\"" + name + R"(":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":[)" + begin + "," +
         end + "]}";
}

// Found by hand and by the fuzz targets (tests/fuzz): each of these once loaded, crashed or hung.
TEST(Safetensors, DuplicateTensorNamesAreRejected) {
  TempDir dir;
  std::string p = dir.file("dup.safetensors");
  write_bytes(
      p, raw_safetensors("{" + entry("w", "F32", "[1]", "0", "4") + "," + entry("w", "F32", "[1]", "4", "8") + "}", 8));
  EXPECT_TRUE(throws_with<IoError>([&] { load_safetensors(p); }, {"load_safetensors", p, "duplicate key \"w\""}));
  write_bytes(p, raw_safetensors(R"({"__metadata__":{"seed":"1","seed":"2"}})", 0));
  EXPECT_TRUE(throws_with<IoError>([&] { load_safetensors(p); }, {"load_safetensors", p, "duplicate key \"seed\""}));
}

TEST(Safetensors, ShapesWhoseByteCountWrapsAreRejected) {
  TempDir dir;
  std::string p = dir.file("wrap.safetensors");
  // 2^62 x 4 float32 is 2^66 bytes: 0 modulo 2^64, which matched the empty data range.
  write_bytes(p, raw_safetensors("{" + entry("w", "F32", "[4611686018427387904,4]", "0", "0") + "}", 0));
  EXPECT_TRUE(throws_with<IoError>([&] { load_safetensors(p); }, {"load_safetensors", p, "'w'", "needs more than"}));
  write_bytes(p, raw_safetensors("{" + entry("w", "I64", "[3037000500,3037000500]", "0", "8") + "}", 8));
  EXPECT_TRUE(throws_with<IoError>([&] { load_safetensors(p); }, {p, "needs more than the 8 data bytes"}));
  // A zero anywhere makes the tensor empty, whatever the other dimensions.
  write_bytes(p, raw_safetensors("{" + entry("w", "U8", "[9223372036854775807,0]", "0", "0") + "}", 0));
  EXPECT_EQ(load_safetensors(p).get<std::uint8_t>("w").numel(), 0);
}

TEST(Safetensors, OffsetsAndNumbersAreStrict) {
  TempDir dir;
  std::string p = dir.file("num.safetensors");
  auto with_end = [&](const std::string& end) {
    write_bytes(p, raw_safetensors("{" + entry("w", "F32", "[2]", "0", end) + "}", 8));
  };
  with_end("18446744073709551615");  // beyond int64
  EXPECT_TRUE(throws_with<IoError>([&] { load_safetensors(p); }, {p, "bad data offset"}));
  with_end("8e0");
  EXPECT_TRUE(throws_with<IoError>([&] { load_safetensors(p); }, {p, "bad data offset"}));
  for (std::string junk : {"8abc", "+8", "08", "8.", "8e", "-", "0x8", "8 8"}) {
    with_end(junk);
    EXPECT_TRUE(throws_with<IoError>([&] { load_safetensors(p); }, {"load_safetensors", p, "malformed JSON"})) << junk;
  }
  with_end("8");
  EXPECT_EQ(load_safetensors(p).get<float>("w").numel(), 2);
  write_bytes(p, raw_safetensors("{" + entry("w", "F32", "[1e999]", "0", "8") + "}", 8));
  EXPECT_TRUE(throws_with<IoError>([&] { load_safetensors(p); }, {p, "out of the range of a double"}));
}

TEST(Safetensors, DeepNestingAndEscapes) {
  TempDir dir;
  std::string p = dir.file("deep.safetensors");
  write_bytes(p, raw_safetensors(std::string(100000, '[') + std::string(100000, ']'), 0));
  EXPECT_TRUE(throws_with<IoError>([&] { load_safetensors(p); }, {p, "nesting too deep"}));
  write_bytes(p, raw_safetensors(R"({"__metadata__":{"smile":"\ud83d\ude00 \u00e9"}})", 0));
  EXPECT_EQ(load_safetensors(p).metadata.at("smile"), "\xF0\x9F\x98\x80 \xC3\xA9");
  write_bytes(p, raw_safetensors(R"({"__metadata__":{"half":"\ud83d"}})", 0));
  EXPECT_TRUE(throws_with<IoError>([&] { load_safetensors(p); }, {p, "lone high surrogate"}));
}

TEST(Safetensors, AnEmptyTensorMayShareTheOffsetOfTheNext) {
  TempDir dir;
  std::string p = dir.file("empty.safetensors");
  // Listed after the tensor that starts where it does: valid, and once rejected as an overlap.
  write_bytes(
      p, raw_safetensors("{" + entry("w", "F32", "[2]", "0", "8") + "," + entry("z", "F32", "[0]", "0", "0") + "}", 8));
  TensorDict d = load_safetensors(p);
  EXPECT_EQ(d.size(), 2u);
  EXPECT_EQ(d.get<float>("z").numel(), 0);
}

TEST(Safetensors, ManyTensorsLoadInLinearTime) {
  // Each name used to be looked up by a scan of those before it: 10^6 names in a 60 MB header took hours.
  TempDir dir;
  std::string p = dir.file("many.safetensors");
  std::string header = "{";
  const int n = 100000;
  for (int i = 0; i < n; ++i)
    header += (i ? "," : "") + entry("t" + std::to_string(i), "U8", "[1]", std::to_string(i), std::to_string(i + 1));
  write_bytes(p, raw_safetensors(header + "}", n));
  TensorDict d = load_safetensors(p);
  EXPECT_EQ(d.size(), std::size_t(n));
  EXPECT_EQ(d.get<std::uint8_t>("t99999").numel(), 1);
}

TEST(Safetensors, NonRegularFilesAreRefusedWithoutBlocking) {
  TempDir dir;
  std::string fifo = dir.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_TRUE(throws_with<IoError>([&] { load_safetensors(fifo); }, {"load_safetensors", fifo, "not a regular file"}));
  EXPECT_TRUE(
      throws_with<IoError>([&] { load_safetensors(dir.path.string()); }, {dir.path.string(), "not a regular file"}));
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
