#include "simile/data/npy.hpp"

#include "data/files.hpp"
#include "simile/data.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::Bytes;
using testing::TempDir;
using testing::throws_with;

/// The bytes numpy 1.x writes for np.save(f, np.arange(6, dtype='<f4').reshape(2, 3)).
Bytes numpy_arange_f4() {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  dict.append(118 - dict.size() - 1, ' ');
  dict += '\n';
  std::string all = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(dict.size()) + '\0' + dict;
  Bytes b(all.begin(), all.end());
  for (int i = 0; i < 6; ++i) {
    float v = static_cast<float>(i);
    auto* p = reinterpret_cast<unsigned char*>(&v);
    b.insert(b.end(), p, p + 4);
  }
  return b;
}

TEST(Npy, ReadsWhatNumpyWrites) {
  TempDir dir;
  testing::write_bytes(dir.file("a.npy"), numpy_arange_f4());
  Tensor<float> t = read_npy<float>(dir.file("a.npy"));
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t.data()[i], float(i));
  NpyHeader h = read_npy_header(dir.file("a.npy"));
  EXPECT_EQ(h.descr, "<f4");
  EXPECT_EQ(h.data_offset, 128u);
}

TEST(Npy, RoundTripsEachDtypeAndShape) {
  TempDir dir;
  for (Shape s : {Shape{}, Shape{5}, Shape{3, 4}, Shape{2, 1, 3}, Shape{0, 7}}) {
    SCOPED_TRACE(s.to_string());
    Tensor<float> f = testing::random_tensor<float>(s, 1);
    Tensor<double> d = testing::random_tensor<double>(s, 2);
    Tensor<std::uint8_t> u = Tensor<std::uint8_t>::empty(s);
    for (Index i = 0; i < u.numel(); ++i) u.data()[i] = static_cast<std::uint8_t>(i * 37);
    write_npy(dir.file("f.npy"), f);
    write_npy(dir.file("d.npy"), d);
    write_npy(dir.file("u.npy"), u);
    EXPECT_EQ(testing::read_bytes(dir.file("f.npy")).size() % 16, (f.numel() * 4) % 16);  // 64-byte header
    EXPECT_TRUE(testing::tensors_near(read_npy<float>(dir.file("f.npy")), f, 0, 0));
    EXPECT_TRUE(testing::tensors_near(read_npy<double>(dir.file("d.npy")), d, 0, 0));
    EXPECT_TRUE(testing::tensors_near(read_npy<std::uint8_t>(dir.file("u.npy")), u, 0, 0));
  }
  std::string one = std::string(reinterpret_cast<const char*>(testing::read_bytes(dir.file("u.npy")).data()) + 10, 60);
  EXPECT_NE(one.find("'shape': (0, 7)"), std::string::npos) << one;
  write_npy(dir.file("v.npy"), Tensor<float>::zeros({4}));
  EXPECT_EQ(read_npy_header(dir.file("v.npy")).shape, Shape{4});
}

TEST(Npy, IntegersAsNumpyHasThem) {
  // Class labels: numpy's default integers are <i8; <i4 too. Values beyond 32 bits survive the round trip.
  TempDir dir;
  auto l = Tensor<std::int64_t>::from({0, 9, -3, std::int64_t(1) << 40}, {4});
  write_npy(dir.file("l.npy"), l);
  EXPECT_EQ(read_npy_header(dir.file("l.npy")).descr, "<i8");
  Tensor<std::int64_t> back = read_npy<std::int64_t>(dir.file("l.npy"));
  ASSERT_EQ(back.shape(), Shape{4});
  for (Index i = 0; i < 4; ++i) EXPECT_EQ(back.data()[i], l.data()[i]);
  auto i4 = Tensor<std::int32_t>::from({7, -1}, {2, 1});
  write_npy(dir.file("i.npy"), i4);
  EXPECT_EQ(read_npy_header(dir.file("i.npy")).descr, "<i4");
  EXPECT_EQ(read_npy<std::int32_t>(dir.file("i.npy")).data()[1], -1);
  EXPECT_TRUE(throws_with<IoError>([&] { read_npy<std::int64_t>(dir.file("i.npy")); }, {"'<i4'", "expected '<i8'"}));
}

TEST(Npy, RejectsWhatItCannotRead) {
  TempDir dir;
  Bytes good = numpy_arange_f4();
  testing::write_bytes(dir.file("a.npy"), good);
  EXPECT_TRUE(throws_with<IoError>([&] { read_npy<double>(dir.file("a.npy")); },
                                   {"read_npy", dir.file("a.npy"), "'<f4'", "expected '<f8'"}));
  auto variant = [&](const std::string& from, const std::string& to) {
    Bytes b = good;
    std::string s(b.begin(), b.end());
    s.replace(s.find(from), from.size(), to);
    return Bytes(s.begin(), s.end());
  };
  testing::write_bytes(dir.file("fortran.npy"), variant("False", "True "));
  EXPECT_TRUE(throws_with<IoError>([&] { read_npy<float>(dir.file("fortran.npy")); }, {dir.file("fortran.npy"), "Fortran"}));
  testing::write_bytes(dir.file("big.npy"), variant("<f4", ">f4"));
  EXPECT_TRUE(throws_with<IoError>([&] { read_npy<float>(dir.file("big.npy")); }, {"big-endian"}));
  testing::write_bytes(dir.file("int.npy"), variant("<f4", "<i8"));
  EXPECT_TRUE(throws_with<IoError>([&] { read_npy<float>(dir.file("int.npy")); }, {"'<i8'"}));
  testing::write_bytes(dir.file("shape.npy"), variant("(2, 3)", "(2, 4)"));
  EXPECT_TRUE(throws_with<IoError>([&] { read_npy<float>(dir.file("shape.npy")); },
                                   {dir.file("shape.npy"), "152 bytes", "needs 160"}));
  testing::write_bytes(dir.file("absurd.npy"), variant("(2, 3), }" + std::string(18, ' '), "(1000000000, 1000000000), }"));  // same length
  EXPECT_TRUE(throws_with<IoError>([&] { read_npy<float>(dir.file("absurd.npy")); }, {dir.file("absurd.npy"), "absurd shape"}));
  Bytes cut(good.begin(), good.end() - 3);
  testing::write_gzip(dir.file("cut.npy.gz"), cut);
  EXPECT_TRUE(throws_with<IoError>([&] { read_npy<float>(dir.file("cut.npy.gz")); }, {"truncated", "expected 24 bytes"}));
  Bytes magic = good;
  magic[1] = 'X';
  testing::write_bytes(dir.file("magic.npy"), magic);
  EXPECT_TRUE(throws_with<IoError>([&] { read_npy<float>(dir.file("magic.npy")); }, {"not an NPY"}));
  Bytes version = good;
  version[6] = 9;
  testing::write_bytes(dir.file("version.npy"), version);
  EXPECT_TRUE(throws_with<IoError>([&] { read_npy<float>(dir.file("version.npy")); }, {"version 9.0"}));
  testing::write_bytes(dir.file("header.npy"), Bytes(good.begin(), good.begin() + 40));
  EXPECT_TRUE(throws_with<IoError>([&] { read_npy<float>(dir.file("header.npy")); }, {"truncated", "NPY header"}));
  EXPECT_TRUE(throws_with<IoError>([&] { write_npy(dir.file("no/such/dir.npy"), Tensor<float>::zeros({2})); },
                                   {"write_npy", "cannot write", "left unchanged"}));
}

}  // namespace
}  // namespace simile
