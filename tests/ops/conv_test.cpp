#include <cstring>

#include "simile/ops/conv.hpp"
#include "simile/ops.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::grad_ok;
using testing::random_param;
using testing::random_tensor;
using testing::tensors_near;
using testing::throws_with;
using V = std::vector<Var<double>>;

/// One test shape: x [n, c, h, w], weight [o, c, kh, kw], stride and padding per axis.
struct Case {
  Index n, c, h, w, o, kh, kw, sh, sw, ph, pw;
  Conv2dOptions options(ConvBackend b) const {
    Conv2dOptions opt(sh, ph);
    opt.stride_w = sw;
    opt.padding_w = pw;
    return opt.use_backend(b);
  }
  Shape x() const { return {n, c, h, w}; }
  Shape weight() const { return {o, c, kh, kw}; }
  std::string name() const {
    return detail::str("x[", n, ",", c, ",", h, ",", w, "] w[", o, ",", c, ",", kh, ",", kw, "] s", sh, "x", sw,
                       " p", ph, "x", pw);
  }
};

// Awkward shapes: 1 image, 3 channels, 7x7, stride 2, padding 0/1/2, kernels 1x1/3x3/5x5, non-square.
const std::vector<Case> small_cases = {
    {1, 3, 7, 7, 2, 3, 3, 1, 1, 1, 1}, {2, 3, 7, 7, 4, 3, 3, 2, 2, 0, 0}, {1, 2, 7, 5, 3, 5, 5, 1, 1, 2, 2},
    {3, 1, 6, 9, 2, 1, 1, 1, 1, 0, 0}, {2, 2, 5, 8, 3, 3, 3, 2, 1, 1, 0}, {1, 3, 7, 7, 2, 5, 3, 2, 2, 2, 1},
    {2, 4, 4, 4, 3, 1, 1, 2, 2, 1, 1}, {1, 2, 3, 3, 2, 5, 5, 1, 1, 1, 1}, {5, 2, 6, 6, 3, 3, 3, 1, 1, 1, 1},
};

/// The definition, with plain nested loops: y[n,o,i,j] = b[o] + sum w[o,c,u,v] x[n,c,i s - p + u, j s - p + v].
template <class T>
Tensor<T> reference_conv(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, const Case& k) {
  const Index oh = (k.h + 2 * k.ph - k.kh) / k.sh + 1, ow = (k.w + 2 * k.pw - k.kw) / k.sw + 1;
  Tensor<T> y = Tensor<T>::empty({k.n, k.o, oh, ow});
  for (Index n = 0; n < k.n; ++n)
    for (Index o = 0; o < k.o; ++o)
      for (Index i = 0; i < oh; ++i)
        for (Index j = 0; j < ow; ++j) {
          double acc = b.defined() ? double(b.at(o)) : 0.0;
          for (Index c = 0; c < k.c; ++c)
            for (Index u = 0; u < k.kh; ++u)
              for (Index v = 0; v < k.kw; ++v) {
                Index yy = i * k.sh - k.ph + u, xx = j * k.sw - k.pw + v;
                if (yy >= 0 && yy < k.h && xx >= 0 && xx < k.w) acc += double(w.at(o, c, u, v)) * double(x.at(n, c, yy, xx));
              }
          y.at(n, o, i, j) = static_cast<T>(acc);
        }
  return y;
}

bool same_bits(const Tensor<float>& a, const Tensor<float>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), sizeof(float) * a.numel()) == 0;
}

TEST(Conv2d, ByHand) {
  // x = 1..9 in a 3x3 image, kernel [[1, 0], [0, -1]], bias 10, padding 0: y = x[i,j] - x[i+1,j+1] + 10 = 6.
  Var<double> x(Tensor<double>::from({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3}), true);
  Var<double> w(Tensor<double>::from({1, 0, 0, -1}, {1, 1, 2, 2}), true);
  Var<double> b(Tensor<double>::from({10}, {1}), true);
  Var<double> y = conv2d(x, w, b);
  EXPECT_TRUE(tensors_near(y.value(), Tensor<double>::full({1, 1, 2, 2}, 6.0)));
  sum(y).backward();
  // Each x is read by the +1 tap of windows at its top-left and the -1 tap of windows at its bottom-right.
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::from({1, 1, 0, 1, 0, -1, 0, -1, -1}, {1, 1, 3, 3})));
  // dw[u, v] = sum of the 2x2 block of x starting at (u, v).
  EXPECT_TRUE(tensors_near(w.grad(), Tensor<double>::from({12, 16, 24, 28}, {1, 1, 2, 2})));
  EXPECT_TRUE(tensors_near(b.grad(), Tensor<double>::from({4}, {1})));
  // Stride 2, padding 0 with the 1x1 kernel [[1]]: picks x[0,0], x[0,2], x[2,0], x[2,2].
  Var<double> one(Tensor<double>::from({1}, {1, 1, 1, 1}));
  Var<double> z = conv2d(x, one, Conv2dOptions{2, 0});
  EXPECT_TRUE(tensors_near(z.value(), Tensor<double>::from({1, 3, 7, 9}, {1, 1, 2, 2})));
}

TEST(Conv2d, MatchesDirectLoopsBothBackends) {
  for (const Case& k : small_cases) {
    SCOPED_TRACE(k.name());
    auto x = random_tensor<double>(k.x(), 1), w = random_tensor<double>(k.weight(), 2);
    auto b = random_tensor<double>({k.o}, 3);
    Tensor<double> ref = reference_conv(x, w, b, k);
    Var<double> y = conv2d(Var<double>(x), Var<double>(w), Var<double>(b), k.options(ConvBackend::eigen));
    EXPECT_TRUE(tensors_near(y.value(), ref, 1e-12, 1e-12));
    if (onednn_available()) {
      Var<float> yf = conv2d(Var<float>(x.to<float>()), Var<float>(w.to<float>()), Var<float>(b.to<float>()),
                             k.options(ConvBackend::onednn));
      EXPECT_TRUE(tensors_near(yf.value().to<double>(), ref, 1e-5, 1e-5));
    }
  }
}

TEST(Conv2d, GradcheckEigenDouble) {
  for (const Case& k : small_cases) {
    SCOPED_TRACE(k.name());
    for (bool with_bias : {true, false}) {
      auto f = [&](const V& v) {
        return with_bias ? conv2d(v[0], v[1], v[2], k.options(ConvBackend::eigen))
                         : conv2d(v[0], v[1], k.options(ConvBackend::eigen));
      };
      V in{random_param(k.x(), 4), random_param(k.weight(), 5)};
      if (with_bias) in.push_back(random_param({k.o}, 6));
      EXPECT_TRUE(grad_ok(f, in));
    }
  }
}

TEST(Conv2d, GradcheckWithManyThreadsAndGroups) {
  // 9 images over 2 threads exercise uneven chunks and multi-image GEMM groups with a partial last group.
  ThreadScope threads(2);
  Case k{9, 2, 5, 4, 3, 3, 3, 1, 1, 1, 1};
  auto f = [&](const V& v) { return conv2d(v[0], v[1], v[2], k.options(ConvBackend::eigen)); };
  EXPECT_TRUE(grad_ok(f, {random_param(k.x(), 7), random_param(k.weight(), 8), random_param({k.o}, 9)}));
}

/// Output and the three gradients of one conv in float on `backend`, for the seed gradient `seed`.
struct Result {
  Tensor<float> y, gx, gw, gb;
};
Result run_float(const Case& k, ConvBackend backend, const Tensor<float>& seed, std::uint64_t s = 11) {
  Var<float> x(random_tensor<float>(k.x(), s), true), w(random_tensor<float>(k.weight(), s + 1), true);
  Var<float> b(random_tensor<float>({k.o}, s + 2), true);
  Var<float> y = conv2d(x, w, b, k.options(backend));
  Tensor<float> yv = y.value().clone();
  y.backward(seed);
  return {yv, x.grad(), w.grad(), b.grad()};
}

TEST(Conv2d, OnednnMatchesEigenInFloat) {
  if (!onednn_available()) GTEST_SKIP() << "built without oneDNN";
  std::vector<Case> cases = small_cases;
  // The SimCLR ConvNet's convolutions at batch 4 (1->32 at 28x28, 32->64 at 14x14, 64->128 at 7x7).
  cases.push_back({4, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1});
  cases.push_back({4, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1});
  cases.push_back({4, 64, 7, 7, 128, 3, 3, 1, 1, 1, 1});
  for (int threads : {1, 2}) {
    ThreadScope scope(threads);
    for (const Case& k : cases) {
      SCOPED_TRACE(k.name() + " threads " + std::to_string(threads));
      const Index oh = (k.h + 2 * k.ph - k.kh) / k.sh + 1, ow = (k.w + 2 * k.pw - k.kw) / k.sw + 1;
      Tensor<float> seed = random_tensor<float>({k.n, k.o, oh, ow}, 12);
      Result e = run_float(k, ConvBackend::eigen, seed), d = run_float(k, ConvBackend::onednn, seed);
      // Sums of up to 576 products of values in [-1, 1]: float rounding stays below 1e-4 relative to
      // the typical magnitude, hence the absolute part.
      EXPECT_TRUE(tensors_near(d.y, e.y, 1e-4, 1e-4));
      EXPECT_TRUE(tensors_near(d.gx, e.gx, 1e-4, 1e-4));
      EXPECT_TRUE(tensors_near(d.gw, e.gw, 1e-4 * std::sqrt(double(k.n * oh * ow)), 1e-4));
      EXPECT_TRUE(tensors_near(d.gb, e.gb, 1e-4 * std::sqrt(double(k.n * oh * ow)), 1e-4));
    }
  }
}

TEST(Conv2d, OnednnGradientsAgreeWithEigenDouble) {
  // The oneDNN float gradients against gradcheck-verified double gradients of the same inputs.
  if (!onednn_available()) GTEST_SKIP() << "built without oneDNN";
  for (const Case& k : small_cases) {
    SCOPED_TRACE(k.name());
    auto xd = random_tensor<double>(k.x(), 20), wd = random_tensor<double>(k.weight(), 21);
    auto bd = random_tensor<double>({k.o}, 22);
    Var<double> x(xd, true), w(wd, true), b(bd, true);
    Var<double> y = conv2d(x, w, b, k.options(ConvBackend::eigen));
    Tensor<double> seed = random_tensor<double>(y.shape(), 23);
    y.backward(seed);
    Var<float> xf(xd.to<float>(), true), wf(wd.to<float>(), true), bf(bd.to<float>(), true);
    conv2d(xf, wf, bf, k.options(ConvBackend::onednn)).backward(seed.to<float>());
    EXPECT_TRUE(tensors_near(xf.grad().to<double>(), x.grad(), 1e-5, 1e-4));
    EXPECT_TRUE(tensors_near(wf.grad().to<double>(), w.grad(), 1e-5, 1e-4));
    EXPECT_TRUE(tensors_near(bf.grad().to<double>(), b.grad(), 1e-5, 1e-4));
  }
}

TEST(Conv2d, OnednnFiniteDifferencesInFloat) {
  if (!onednn_available()) GTEST_SKIP() << "built without oneDNN";
  Case k{2, 3, 6, 5, 4, 3, 3, 2, 1, 1, 1};
  Var<float> x(random_tensor<float>(k.x(), 30), true), w(random_tensor<float>(k.weight(), 31), true);
  Var<float> y = conv2d(x, w, k.options(ConvBackend::onednn));
  Tensor<float> seed = random_tensor<float>(y.shape(), 32);
  y.backward(seed);
  auto loss = [&] {
    NoGradGuard ng;
    Tensor<float> out = conv2d(x, w, k.options(ConvBackend::onednn)).value();
    double s = 0;
    for (Index i = 0; i < out.numel(); ++i) s += double(out.data()[i]) * double(seed.data()[i]);
    return s;
  };
  // L is linear in each input, so a large step has no truncation error: only float rounding (~1e-6).
  const float eps = 0.25f;
  for (const Var<float>* v : {&x, &w}) {
    for (Index i = 0; i < v->numel(); ++i) {
      float& p = v->value().data()[i];
      const float orig = p;
      p = orig + eps;
      double up = loss();
      p = orig - eps;
      double down = loss();
      p = orig;
      EXPECT_NEAR(v->grad().data()[i], (up - down) / (2 * eps), 1e-3) << "element " << i;
    }
  }
}

TEST(Conv2d, GradientsAccumulate) {
  for (ConvBackend backend : {ConvBackend::eigen, ConvBackend::onednn}) {
    if (backend == ConvBackend::onednn && !onednn_available()) continue;
    SCOPED_TRACE(to_string(backend));
    Case k{2, 3, 5, 5, 2, 3, 3, 1, 1, 1, 1};
    const Index oh = 5, ow = 5;
    Tensor<float> seed = random_tensor<float>({k.n, k.o, oh, ow}, 40);
    Result once = run_float(k, backend, seed, 41);
    // The same inputs feeding two convs: every gradient is twice the single one.
    Var<float> x(random_tensor<float>(k.x(), 41), true), w(random_tensor<float>(k.weight(), 42), true);
    Var<float> b(random_tensor<float>({k.o}, 43), true);
    Var<float> y = conv2d(x, w, b, k.options(backend)) + conv2d(x, w, b, k.options(backend));
    y.backward(seed);
    auto twice = [](const Tensor<float>& t) {
      Tensor<float> r = t.clone();
      r.array() *= 2.0f;
      return r;
    };
    EXPECT_TRUE(tensors_near(x.grad(), twice(once.gx), 1e-5, 1e-6));
    EXPECT_TRUE(tensors_near(w.grad(), twice(once.gw), 1e-5, 1e-6));
    EXPECT_TRUE(tensors_near(b.grad(), twice(once.gb), 1e-5, 1e-6));
  }
}

TEST(Conv2d, DeterministicAtFixedThreadCount) {
  Case k{16, 8, 9, 9, 12, 3, 3, 1, 1, 1, 1};
  Tensor<float> seed = random_tensor<float>({k.n, k.o, 9, 9}, 50);
  for (int threads : {1, 2})
    for (ConvBackend backend : {ConvBackend::eigen, ConvBackend::onednn}) {
      if (backend == ConvBackend::onednn && !onednn_available()) continue;
      SCOPED_TRACE(std::string(to_string(backend)) + " threads " + std::to_string(threads));
      ThreadScope scope(threads);
      Result a = run_float(k, backend, seed), b = run_float(k, backend, seed);
      EXPECT_TRUE(same_bits(a.y, b.y));
      EXPECT_TRUE(same_bits(a.gx, b.gx));
      EXPECT_TRUE(same_bits(a.gw, b.gw));
      EXPECT_TRUE(same_bits(a.gb, b.gb));
    }
}

TEST(Conv2d, IdentityKernelAndLinearity) {
  // A 1x1 conv with the identity matrix returns its input; a 3x3 kernel that is 1 at the centre, too.
  Tensor<double> x = random_tensor<double>({2, 3, 4, 5}, 60);
  Tensor<double> eye = Tensor<double>::zeros({3, 3, 3, 3});
  for (Index c = 0; c < 3; ++c) eye.at(c, c, 1, 1) = 1.0;
  EXPECT_TRUE(tensors_near(conv2d(Var<double>(x), Var<double>(eye), Conv2dOptions{1, 1}).value(), x, 0, 0));
  // Linear in x: conv(a x1 + x2) = a conv(x1) + conv(x2) (to rounding).
  Tensor<double> w = random_tensor<double>({4, 3, 3, 3}, 61), x2 = random_tensor<double>({2, 3, 4, 5}, 62);
  Tensor<double> mix = x.clone();
  mix.array() = 3.0 * x.array() + x2.array();
  Var<double> wv(w);
  Tensor<double> lhs = conv2d(Var<double>(mix), wv, Conv2dOptions{1, 1}).value();
  Tensor<double> rhs = conv2d(Var<double>(x), wv, Conv2dOptions{1, 1}).value();
  rhs.array() = 3.0 * rhs.array() + conv2d(Var<double>(x2), wv, Conv2dOptions{1, 1}).value().array();
  EXPECT_TRUE(tensors_near(lhs, rhs, 1e-12, 1e-12));
}

TEST(Conv2d, EmptyBatchAndThreadChangeBetweenPasses) {
  Var<float> x(Tensor<float>::zeros({0, 3, 5, 5}), true), w(random_tensor<float>({2, 3, 3, 3}, 70), true);
  Var<float> y = conv2d(x, w, Conv2dOptions{1, 1});
  EXPECT_EQ(y.shape(), (Shape{0, 2, 5, 5}));
  if (!onednn_available()) return;
  // Forward at 1 thread, backward at 2: the backward builds its own primitives for 2 threads.
  Case k{4, 3, 6, 6, 5, 3, 3, 1, 1, 1, 1};
  Tensor<float> seed = random_tensor<float>({4, 5, 6, 6}, 71);
  Result ref = run_float(k, ConvBackend::eigen, seed);
  Var<float> xs(random_tensor<float>(k.x(), 11), true), ws(random_tensor<float>(k.weight(), 12), true);
  Var<float> bs(random_tensor<float>({k.o}, 13), true);
  Var<float> ys;
  {
    ThreadScope one(1);
    ys = conv2d(xs, ws, bs, k.options(ConvBackend::onednn));
  }
  ThreadScope two(2);
  ys.backward(seed);
  EXPECT_TRUE(tensors_near(xs.grad(), ref.gx, 1e-4, 1e-4));
  EXPECT_TRUE(tensors_near(ws.grad(), ref.gw, 1e-4, 1e-4));
}

TEST(Conv2d, SteadyStateTakesNoNewMemory) {
  for (ConvBackend backend : {ConvBackend::eigen, ConvBackend::onednn}) {
    if (backend == ConvBackend::onednn && !onednn_available()) continue;
    SCOPED_TRACE(to_string(backend));
    ThreadScope threads(2);
    Case k{8, 16, 14, 14, 32, 3, 3, 1, 1, 1, 1};
    Tensor<float> seed = random_tensor<float>({8, 32, 14, 14}, 80);
    for (int warm = 0; warm < 2; ++warm) run_float(k, backend, seed);
    auto before = CachingAllocator::instance().stats().system_allocations;
    for (int i = 0; i < 3; ++i) run_float(k, backend, seed);
    EXPECT_EQ(CachingAllocator::instance().stats().system_allocations, before);
  }
}

TEST(Conv2d, ErrorsNameConv2dAndShapes) {
  Var<double> x(Tensor<double>::zeros({2, 3, 5, 5})), w(Tensor<double>::zeros({4, 3, 3, 3}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { conv2d(Var<double>(Tensor<double>::zeros({3, 5, 5})), w); },
                                      {"conv2d", "[3, 5, 5]", "rank 4"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { conv2d(x, Var<double>(Tensor<double>::zeros({4, 3, 3}))); },
                                      {"conv2d", "weight", "[4, 3, 3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { conv2d(x, Var<double>(Tensor<double>::zeros({4, 2, 3, 3}))); },
                                      {"conv2d", "[2, 3, 5, 5]", "3 channels", "[4, 2, 3, 3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { conv2d(x, Var<double>(Tensor<double>::zeros({4, 3, 7, 7}))); },
                                      {"conv2d", "kernel 7x7", "[4, 3, 7, 7]", "padded input 5x5"}));
  EXPECT_NO_THROW(conv2d(x, Var<double>(Tensor<double>::zeros({4, 3, 7, 7})), Conv2dOptions{1, 1}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { conv2d(x, w, Var<double>(Tensor<double>::zeros({3}))); },
                                      {"conv2d", "bias", "[3]", "[4]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { conv2d(x, w, Conv2dOptions{0, 1}); }, {"conv2d", "stride 0x0"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { conv2d(x, w, Conv2dOptions{1, -1}); }, {"conv2d", "padding -1x-1"}));
  Conv2dOptions width_stride_0;
  width_stride_0.stride_w = 0;
  EXPECT_TRUE(throws_with<ValueError>([&] { conv2d(x, w, width_stride_0); }, {"conv2d", "stride 1x0"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { conv2d(x, Var<double>(Tensor<double>::zeros({0, 3, 3, 3}))); },
                                      {"conv2d", "[0, 3, 3, 3]", "empty"}));
  // oneDNN computes in float: asking for it in double is an error, whether oneDNN is built in or not.
  EXPECT_TRUE(throws_with<ValueError>([&] { conv2d(x, w, Conv2dOptions{}.use_backend(ConvBackend::onednn)); },
                                      {"conv2d", "oneDNN"}));
  if (!onednn_available()) {
    EXPECT_TRUE(throws_with<ValueError>([&] { set_conv_backend(ConvBackend::onednn); }, {"oneDNN"}));
  }
}

TEST(Conv2d, ProcessWideBackendSetting) {
  EXPECT_EQ(conv_backend(), ConvBackend::automatic);
  set_conv_backend(ConvBackend::eigen);
  EXPECT_EQ(detail::resolve_conv_backend<float>(std::nullopt), ConvBackend::eigen);
  EXPECT_EQ(detail::resolve_conv_backend<float>(ConvBackend::automatic),
            onednn_available() ? ConvBackend::onednn : ConvBackend::eigen);
  set_conv_backend(ConvBackend::automatic);
  EXPECT_EQ(detail::resolve_conv_backend<double>(std::nullopt), ConvBackend::eigen);
  EXPECT_EQ(detail::resolve_conv_backend<float>(std::nullopt),
            onednn_available() ? ConvBackend::onednn : ConvBackend::eigen);
}

}  // namespace
}  // namespace simile
