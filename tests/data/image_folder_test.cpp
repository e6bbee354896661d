// PNG and JPEG decoding (gray, RGB, RGBA, 16-bit, palette, JPEG), fitting by hand, the ImageFolder layout,
// the decoded cache (hit, invalidation, a damaged cache), thread-count determinism, bad images (skip and
// fail) and hundreds of truncated and mutated files.
#include <fcntl.h>
#include <sys/stat.h>
#include <zlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "data/files.hpp"
#include "simile/core/parallel.hpp"
#include "simile/core/rng.hpp"
#include "simile/data/image_file.hpp"
#include "simile/data/image_folder.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {

using testing::Bytes;
using testing::read_bytes;
using testing::TempDir;
using testing::throws_with;
using testing::write_bytes;
namespace fs = std::filesystem;

using U8 = Tensor<std::uint8_t>;

std::vector<std::uint8_t> values(const U8& t) { return std::vector<std::uint8_t>(t.begin(), t.end()); }

/// A PNG written chunk by chunk (for what write_png does not write: 16-bit samples, palettes, tRNS):
/// `rows` are the raw scanlines without their filter byte.
Bytes raw_png(std::uint32_t w, std::uint32_t h, int depth, int color, const Bytes& rows,
              const Bytes& plte = {}, const Bytes& trns = {}) {
  Bytes out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  auto chunk = [&](const char* type, const Bytes& data) {
    testing::put_be32(out, std::uint32_t(data.size()));
    Bytes body(type, type + 4);
    body.insert(body.end(), data.begin(), data.end());
    out.insert(out.end(), body.begin(), body.end());
    testing::put_be32(out, std::uint32_t(crc32(0, body.data(), uInt(body.size()))));
  };
  Bytes ihdr;
  testing::put_be32(ihdr, w);
  testing::put_be32(ihdr, h);
  ihdr.insert(ihdr.end(), {std::uint8_t(depth), std::uint8_t(color), 0, 0, 0});
  chunk("IHDR", ihdr);
  if (!plte.empty()) chunk("PLTE", plte);
  if (!trns.empty()) chunk("tRNS", trns);
  const std::size_t stride = rows.size() / h;
  Bytes filtered;
  for (std::uint32_t y = 0; y < h; ++y) {
    filtered.push_back(0);
    filtered.insert(filtered.end(), rows.begin() + y * stride, rows.begin() + (y + 1) * stride);
  }
  uLongf n = compressBound(uLong(filtered.size()));
  Bytes z(n);
  compress(z.data(), &n, filtered.data(), uLong(filtered.size()));
  z.resize(n);
  chunk("IDAT", z);
  chunk("IEND", {});
  return out;
}

U8 image_of(const std::vector<std::uint8_t>& v, Index c, Index h, Index w) { return U8::from(v, {c, h, w}); }

/// A smooth RGB test image of any size: R grows with x, G with y, B with both.
U8 gradient(Index h, Index w) {
  U8 t = U8::empty({3, h, w});
  for (Index y = 0; y < h; ++y)
    for (Index x = 0; x < w; ++x) {
      t.data()[(0 * h + y) * w + x] = std::uint8_t(255 * x / std::max<Index>(w - 1, 1));
      t.data()[(1 * h + y) * w + x] = std::uint8_t(255 * y / std::max<Index>(h - 1, 1));
      t.data()[(2 * h + y) * w + x] = std::uint8_t((x + y) * 7 % 256);
    }
  return t;
}

TEST(ImageFile, GrayPngRoundTripAndChannels) {
  TempDir dir;
  U8 g = image_of({0, 17, 128, 255, 3, 90}, 1, 2, 3);
  write_png(dir.file("g.png"), g);
  EXPECT_EQ(values(read_image(dir.file("g.png"), 1)), values(g));
  U8 rgb = read_image(dir.file("g.png"), 3);
  EXPECT_EQ(rgb.shape(), Shape({3, 2, 3}));
  for (int c = 0; c < 3; ++c)
    EXPECT_EQ(std::vector<std::uint8_t>(rgb.begin() + 6 * c, rgb.begin() + 6 * (c + 1)), values(g));
}

TEST(ImageFile, RgbAndRgbaPng) {
  TempDir dir;
  // Two pixels: (10, 200, 30) and (255, 0, 128).
  U8 rgb = image_of({10, 255, 200, 0, 30, 128}, 3, 1, 2);
  write_png(dir.file("rgb.png"), rgb);
  EXPECT_EQ(values(read_image(dir.file("rgb.png"), 3)), values(rgb));
  // BT.601 luma, rounded: (299*10 + 587*200 + 114*30 + 500) / 1000 = 124; (299*255 + 114*128 + 500) / 1000 = 91.
  EXPECT_EQ(values(read_image(dir.file("rgb.png"), 1)), (std::vector<std::uint8_t>{124, 91}));
  // RGBA: the alpha is dropped, not composited.
  U8 rgba = image_of({10, 255, 200, 0, 30, 128, 0, 77}, 4, 1, 2);
  write_png(dir.file("rgba.png"), rgba);
  EXPECT_EQ(values(read_image(dir.file("rgba.png"), 3)), values(rgb));
  U8 ga = image_of({5, 6, 0, 255}, 2, 1, 2);
  write_png(dir.file("ga.png"), ga);
  EXPECT_EQ(values(read_image(dir.file("ga.png"), 1)), (std::vector<std::uint8_t>{5, 6}));
}

TEST(ImageFile, SixteenBitAndPalettePng) {
  TempDir dir;
  // 16-bit gray, big-endian samples 0x0000 0xFFFF 0x8080 0x1234 -> round(v * 255 / 65535) = 0 255 128 18.
  write_bytes(dir.file("g16.png"), raw_png(2, 2, 16, 0, {0x00, 0x00, 0xFF, 0xFF, 0x80, 0x80, 0x12, 0x34}));
  EXPECT_EQ(values(read_image(dir.file("g16.png"), 1)), (std::vector<std::uint8_t>{0, 255, 128, 18}));
  // 16-bit RGB, one pixel.
  write_bytes(dir.file("rgb16.png"), raw_png(1, 1, 16, 2, {0xFF, 0xFF, 0x00, 0x00, 0x80, 0x80}));
  EXPECT_EQ(values(read_image(dir.file("rgb16.png"), 3)), (std::vector<std::uint8_t>{255, 0, 128}));
  // A 2-bit palette of 4 colours with a tRNS chunk (ignored), 3 pixels of indices 3 1 0 (packed 11 01 00 00).
  const Bytes plte = {0, 0, 0, 10, 20, 30, 40, 50, 60, 250, 251, 252};
  write_bytes(dir.file("pal.png"), raw_png(3, 1, 2, 3, {0b11010000}, plte, {0, 128}));
  EXPECT_EQ(values(read_image(dir.file("pal.png"), 3)),
            (std::vector<std::uint8_t>{250, 10, 0, 251, 20, 0, 252, 30, 0}));
  // 1-bit gray: 1 0 1 -> 255 0 255.
  write_bytes(dir.file("g1.png"), raw_png(3, 1, 1, 0, {0b10100000}));
  EXPECT_EQ(values(read_image(dir.file("g1.png"), 1)), (std::vector<std::uint8_t>{255, 0, 255}));
}

TEST(ImageFile, Jpeg) {
  TempDir dir;
  U8 flat = U8::full({1, 16, 16}, 100);
  write_jpeg(dir.file("g.jpg"), flat);
  U8 g = read_image(dir.file("g.jpg"), 1);
  ASSERT_EQ(g.shape(), Shape({1, 16, 16}));
  for (std::uint8_t v : values(g)) EXPECT_NEAR(v, 100, 1);
  U8 rgb = U8::empty({3, 16, 24});
  std::fill(rgb.begin(), rgb.begin() + 16 * 24, std::uint8_t(200));
  std::fill(rgb.begin() + 16 * 24, rgb.begin() + 2 * 16 * 24, std::uint8_t(60));
  std::fill(rgb.begin() + 2 * 16 * 24, rgb.end(), std::uint8_t(20));
  write_jpeg(dir.file("c.JPEG"), rgb, 95);
  U8 back = read_image(dir.file("c.JPEG"), 3);
  ASSERT_EQ(back.shape(), rgb.shape());
  for (Index i = 0; i < rgb.numel(); ++i) EXPECT_NEAR(back.data()[i], rgb.data()[i], 3) << "element " << i;
  U8 luma = read_image(dir.file("c.JPEG"), 1);  // (299*200 + 587*60 + 114*20) / 1000 = 97
  for (std::uint8_t v : values(luma)) EXPECT_NEAR(v, 97, 3);
}

TEST(ImageFile, Errors) {
  TempDir dir;
  write_bytes(dir.file("text.png"), Bytes{'h', 'e', 'l', 'l', 'o'});
  EXPECT_TRUE(throws_with<IoError>([&] { read_image(dir.file("text.png"), 1); },
                                   {"decode_image", "text.png", "neither a PNG nor a JPEG"}));
  EXPECT_TRUE(throws_with<IoError>([&] { read_image(dir.file("missing.png"), 1); }, {"read_image", "missing.png"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { read_image(dir.file("text.png"), 2); }, {"channels 2"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { write_png(dir.file("x.png"), U8::zeros({5, 2, 2})); }, {"write_png"}));
  EXPECT_TRUE(throws_with<IoError>([&] { write_png(dir.file("no/such/x.png"), U8::zeros({1, 2, 2})); },
                                   {"write_png", "x.png"}));
  // A header claiming 2^30 pixels is refused before any allocation.
  Bytes huge = raw_png(1 << 15, 1 << 15, 8, 0, Bytes(1 << 15));
  EXPECT_TRUE(throws_with<IoError>([&] { decode_image(huge, 1, "huge.png"); }, {"huge.png", "32768x32768"}));
}

TEST(ImageFit, ResizeByHand) {
  // [[0, 100], [200, 255]] to 4x3: columns sample x = 0, 0.5, 1, rows y = 0, 0.25, 0.75, 1.
  U8 r = resize_bilinear(image_of({0, 100, 200, 255}, 1, 2, 2), 4, 3);
  EXPECT_EQ(values(r), (std::vector<std::uint8_t>{0, 50, 100, 50, 94, 139, 150, 183, 216, 200, 228, 255}));
  // Shrinking 4x4 to 2x2 is the mean of each 2x2 block (rows halved, then columns, each rounded up at .5).
  U8 big = image_of({0, 2, 10, 10, 4, 6, 20, 21, 100, 100, 0, 255, 100, 101, 0, 255}, 1, 4, 4);
  EXPECT_EQ(values(resize_bilinear(big, 2, 2)), (std::vector<std::uint8_t>{3, 16, 101, 128}));
  // The same size is a copy.
  EXPECT_EQ(values(resize_bilinear(big, 4, 4)), values(big));
}

TEST(ImageFit, CropByHand) {
  U8 wide = image_of({0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15}, 1, 2, 6);
  EXPECT_EQ(values(center_crop(wide, 2, 2)), (std::vector<std::uint8_t>{2, 3, 12, 13}));
  EXPECT_EQ(values(center_crop(wide, 1, 3)), (std::vector<std::uint8_t>{1, 2, 3}));
  // fit crop: one side already matches, the other covers it: a plain crop.
  EXPECT_EQ(values(fit_image(wide, 2, 2, ImageFit::crop)), (std::vector<std::uint8_t>{2, 3, 12, 13}));
  // A 4x12 image to 2x2: scaled by 1/2 to 2x6 (pairs of columns and rows averaged), then the centre.
  U8 g = gradient(4, 12);
  U8 expect = center_crop(resize_bilinear(g, 2, 6), 2, 2);
  EXPECT_EQ(values(fit_image(g, 2, 2, ImageFit::crop)), values(expect));
  EXPECT_EQ(fit_image(g, 2, 2, ImageFit::resize).shape(), Shape({3, 2, 2}));
  EXPECT_TRUE(throws_with<ValueError>([&] { center_crop(wide, 3, 2); }, {"center_crop", "3x2", "2x6"}));
}

/// root/<cls>/<name>.png for each (cls, name), a gradient of a size that varies with the index.
void make_folder(const std::string& root, const std::vector<std::string>& rel) {
  for (std::size_t i = 0; i < rel.size(); ++i) {
    fs::create_directories((fs::path(root) / rel[i]).parent_path());
    U8 g = gradient(Index(20 + i % 7), Index(17 + 3 * (i % 5)));
    if (rel[i].ends_with(".jpg")) write_jpeg((fs::path(root) / rel[i]).string(), g);
    else write_png((fs::path(root) / rel[i]).string(), g);
  }
}

TEST(ImageFolder, LabelsFromSubfolders) {
  TempDir dir;
  const std::string root = dir.file("r");
  make_folder(root, {"b/x.png", "a/y.png", "a/sub/z.jpg", ".hidden/q.png", "a/.h.png"});
  testing::write_text(dir.file("r/a/notes.txt"), "not an image");
  ImageFolderListing l = list_image_folder(root);
  EXPECT_EQ(l.classes, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(l.files, (std::vector<std::string>{"a/sub/z.jpg", "a/y.png", "b/x.png"}));
  EXPECT_EQ(l.labels, (std::vector<std::int64_t>{0, 0, 1}));
  ImageFolder f = load_image_folder(root, {.channels = 1, .height = 8, .width = 6, .cache = false});
  EXPECT_EQ(f.data.images().shape(), Shape({3, 1, 8, 6}));
  EXPECT_EQ(f.data.labels(), l.labels);
  EXPECT_EQ(f.files, l.files);
  EXPECT_EQ(f.decoded, 3);
  // Pixels as fit_image gives them from read_image.
  U8 y = fit_image(read_image(root + "/a/y.png", 1), 8, 6, ImageFit::resize);
  EXPECT_EQ(std::vector<std::uint8_t>(f.data.images().begin() + 48, f.data.images().begin() + 96), values(y));
}

TEST(ImageFolder, UnlabeledAndBadLayouts) {
  TempDir dir;
  make_folder(dir.file("u"), {"2.png", "1.jpg"});
  ImageFolder f = load_image_folder(dir.file("u"), {.cache = false});
  EXPECT_FALSE(f.data.has_labels());
  EXPECT_TRUE(f.classes.empty());
  EXPECT_EQ(f.files, (std::vector<std::string>{"1.jpg", "2.png"}));
  EXPECT_EQ(f.data.images().shape(), Shape({2, 3, 32, 32}));

  fs::create_directories(dir.file("empty"));
  EXPECT_TRUE(throws_with<IoError>([&] { list_image_folder(dir.file("empty")); }, {"empty", "no PNG or JPEG"}));
  EXPECT_TRUE(throws_with<IoError>([&] { list_image_folder(dir.file("nothing")); }, {"nothing", "not a folder"}));
  make_folder(dir.file("mixed"), {"top.png", "cls/a.png"});
  EXPECT_TRUE(throws_with<IoError>([&] { list_image_folder(dir.file("mixed")); }, {"top.png", "cls"}));
  make_folder(dir.file("hollow"), {"cat/a.png"});
  fs::create_directories(dir.file("hollow/dog"));
  EXPECT_TRUE(throws_with<IoError>([&] { list_image_folder(dir.file("hollow")); }, {"dog", "no PNG or JPEG"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { load_image_folder(dir.file("u"), {.channels = 4}); }, {"channels 4"}));
}

void set_mtime(const std::string& path, std::int64_t seconds) {
  struct timespec t[2] = {{seconds, 0}, {seconds, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), t, 0), 0);
}

TEST(ImageFolder, CacheHitAndInvalidation) {
  TempDir dir;
  const std::string root = dir.file("c");
  make_folder(root, {"a/0.png", "a/1.png", "b/2.jpg", "b/3.png"});
  for (const char* f : {"a/0.png", "a/1.png", "b/2.jpg", "b/3.png"}) set_mtime(root + "/" + f, 1'000'000);
  const ImageFolderOptions o{.channels = 3, .height = 12, .width = 10};
  ImageFolder first = load_image_folder(root, o);
  EXPECT_EQ(first.decoded, 4);
  EXPECT_FALSE(first.from_cache);
  EXPECT_TRUE(first.cache_problem.empty()) << first.cache_problem;
  EXPECT_EQ(first.cache_path, image_folder_cache_path(root, o));
  EXPECT_TRUE(fs::path(first.cache_path).filename().string().starts_with(".simile-cache-"));
  ASSERT_TRUE(fs::exists(first.cache_path));

  ImageFolder second = load_image_folder(root, o);
  EXPECT_EQ(second.decoded, 0);
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ(values(second.data.images()), values(first.data.images()));
  EXPECT_EQ(second.data.labels(), first.data.labels());
  EXPECT_EQ(second.files, first.files);
  EXPECT_EQ(second.classes, first.classes);

  // The key is each file's path, size and modification time, not its bytes: garbage of the same size with
  // the old time is not seen, which shows that a cache hit decodes nothing.
  const std::string victim = root + "/a/1.png";
  Bytes original = read_bytes(victim);
  write_bytes(victim, Bytes(original.size(), 0xAB));
  set_mtime(victim, 1'000'000);
  ImageFolder stale = load_image_folder(root, o);
  EXPECT_TRUE(stale.from_cache);
  EXPECT_EQ(values(stale.data.images()), values(first.data.images()));
  // A new modification time invalidates it: the garbage is decoded now, and named.
  set_mtime(victim, 1'000'001);
  EXPECT_TRUE(throws_with<IoError>([&] { load_image_folder(root, o); }, {"a/1.png", "neither a PNG nor a JPEG"}));

  // A changed image is decoded again and the cache rewritten with it.
  write_png(victim, U8::full({3, 5, 5}, 77));
  ImageFolder changed = load_image_folder(root, o);
  EXPECT_EQ(changed.decoded, 4);
  EXPECT_FALSE(changed.from_cache);
  const Index plane = 3 * 12 * 10;
  for (Index i = 0; i < plane; ++i) ASSERT_EQ(changed.data.images().data()[plane + i], 77);
  EXPECT_TRUE(load_image_folder(root, o).from_cache);
  // So is an added or a removed image.
  make_folder(root, {"b/4.png"});
  EXPECT_EQ(load_image_folder(root, o).decoded, 5);
  fs::remove(root + "/b/4.png");
  EXPECT_EQ(load_image_folder(root, o).decoded, 4);
  // Other options are another cache file; the first stays valid.
  ImageFolderOptions gray = o;
  gray.channels = 1;
  EXPECT_NE(image_folder_cache_path(root, gray), first.cache_path);
  EXPECT_EQ(load_image_folder(root, gray).decoded, 4);
  EXPECT_TRUE(load_image_folder(root, o).from_cache);
  // A damaged cache file is a miss, never an error; a cache folder elsewhere works the same.
  Bytes cache = read_bytes(first.cache_path);
  write_bytes(first.cache_path, Bytes(cache.begin(), cache.begin() + Index(cache.size()) / 2));
  EXPECT_EQ(load_image_folder(root, o).decoded, 4);
  EXPECT_TRUE(load_image_folder(root, o).from_cache);
  fs::create_directories(dir.file("elsewhere"));
  ImageFolderOptions away = o;
  away.cache_dir = dir.file("elsewhere");
  ImageFolder a1 = load_image_folder(root, away), a2 = load_image_folder(root, away);
  EXPECT_EQ(fs::path(a1.cache_path).parent_path(), fs::path(dir.file("elsewhere")));
  EXPECT_TRUE(a2.from_cache);
  EXPECT_EQ(values(a2.data.images()), values(load_image_folder(root, o).data.images()));
  // A cache that cannot be written is reported, not thrown.
  away.cache_dir = dir.file("no/such/folder");
  ImageFolder nowhere = load_image_folder(root, away);
  EXPECT_EQ(nowhere.data.size(), 4);
  EXPECT_FALSE(nowhere.cache_problem.empty());
}

TEST(ImageFolder, SameBytesForAnyThreadCount) {
  TempDir dir;
  std::vector<std::string> rel;
  for (int i = 0; i < 23; ++i) rel.push_back((i % 3 ? "x/" : "y/") + std::to_string(i) + (i % 4 ? ".png" : ".jpg"));
  make_folder(dir.file("t"), rel);
  std::vector<std::uint8_t> reference;
  for (int threads : {1, 2, 3, 8}) {
    ThreadScope scope(threads);
    for (ImageFit fit : {ImageFit::resize, ImageFit::crop}) {
      ImageFolder f = load_image_folder(dir.file("t"), {.channels = 3, .height = 9, .width = 11, .fit = fit, .cache = false});
      ASSERT_EQ(f.data.size(), 23);
      if (fit == ImageFit::crop) continue;
      if (reference.empty()) reference = values(f.data.images());
      EXPECT_EQ(values(f.data.images()), reference) << threads << " threads";
    }
  }
}

TEST(ImageFolder, BadImagesFailOrSkip) {
  TempDir dir;
  const std::string root = dir.file("b");
  make_folder(root, {"a/good0.png", "a/good1.jpg", "b/good2.png"});
  write_bytes(root + "/a/broken.png", Bytes{0x89, 'P', 'N', 'G', 1, 2, 3});
  Bytes jpeg = read_bytes(root + "/a/good1.jpg");
  write_bytes(root + "/b/cut.jpg", Bytes(jpeg.begin(), jpeg.begin() + Index(jpeg.size()) * 2 / 3));
  EXPECT_TRUE(throws_with<IoError>([&] { load_image_folder(root, {.cache = false}); },
                                   {"load_image_folder", "2 of 5 images", "a/broken.png"}));
  for (int round = 0; round < 2; ++round) {  // decoded, then from the cache: the same answer
    ImageFolder f = load_image_folder(root, {.bad_images = BadImages::skip});
    EXPECT_EQ(f.from_cache, round == 1);
    EXPECT_EQ(f.data.size(), 3);
    EXPECT_EQ(f.files, (std::vector<std::string>{"a/good0.png", "a/good1.jpg", "b/good2.png"}));
    EXPECT_EQ(f.skipped, (std::vector<std::string>{"a/broken.png", "b/cut.jpg"}));
    EXPECT_EQ(f.data.labels(), (std::vector<std::int64_t>{0, 0, 1}));
    EXPECT_EQ(f.classes, (std::vector<std::string>{"a", "b"}));
  }
  make_folder(dir.file("allbad"), {"x.png"});
  write_bytes(dir.file("allbad/x.png"), Bytes{1, 2, 3});
  EXPECT_TRUE(throws_with<IoError>([&] { load_image_folder(dir.file("allbad"), {.bad_images = BadImages::skip}); },
                                   {"none of the 1 images", "x.png"}));
}

// Every prefix and hundreds of seeded byte mutations of a valid PNG and JPEG: each gives an image or a
// simile::Error, never a crash, a hang or another exception.
TEST(ImageFile, TruncatedAndMutatedFilesGiveAnErrorOrAnImage) {
  TempDir dir;
  write_png(dir.file("v.png"), gradient(9, 13));
  write_jpeg(dir.file("v.jpg"), gradient(9, 13));
  U8 gray = U8::full({1, 8, 8}, 50);
  write_png(dir.file("g.png"), gray);
  const std::uint64_t seed = 20240515;
  for (const char* name : {"v.png", "v.jpg", "g.png"}) {
    const Bytes valid = read_bytes(dir.file(name));
    int errors = 0, images = 0;
    auto attempt = [&](const Bytes& b, const std::string& what) {
      try {
        U8 t = decode_image(b, 3, what);
        EXPECT_EQ(t.rank(), 3);
        ++images;
      } catch (const Error&) {
        ++errors;
      } catch (const std::exception& e) {
        ADD_FAILURE() << what << ": not a simile::Error: " << e.what() << " (seed " << seed << ")";
      }
    };
    for (std::size_t n = 0; n < valid.size(); ++n) attempt(Bytes(valid.begin(), valid.begin() + Index(n)), name);
    Rng rng = Rng::stream(seed, valid.size());
    for (int m = 0; m < 400; ++m) {
      Bytes b = valid;
      const int flips = 1 + int(rng.below(4));
      for (int k = 0; k < flips; ++k) b[rng.below(b.size())] = std::uint8_t(rng.below(256));
      attempt(b, std::string(name) + " mutation " + std::to_string(m));
    }
    // Every truncation is refused: a file cut short is corrupt, not a smaller image. (A mutated PNG fails its
    // chunk CRCs; a mutated JPEG, which has none, often decodes to other pixels.)
    EXPECT_GE(errors, int(valid.size())) << name;
    if (std::string(name).ends_with(".jpg")) {
      EXPECT_GT(images, 0) << name;
    }
  }
}

}  // namespace
}  // namespace simile
