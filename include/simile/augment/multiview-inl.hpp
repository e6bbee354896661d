#pragma once
/// \file
/// The definitions behind `simile/augment/multiview.hpp`: compiled once in `src/augment/multiview.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/augment/multiview.hpp"

namespace simile {

SIMILE_INLINE MultiView MultiView::same(const Pipeline& pipeline, int k) {
  check<ValueError>(k >= 1, "MultiView::same: view count ", k, " must be at least 1");
  return MultiView(std::vector<Pipeline>(std::size_t(k), pipeline));
}

SIMILE_INLINE MultiView MultiView::multi_crop(const Pipeline& global, int n_global, const Pipeline& local, int n_local) {
  check<ValueError>(n_global >= 1 && n_local >= 0, "MultiView::multi_crop: ", n_global, " global and ", n_local,
                    " local views (need >= 1 and >= 0)");
  std::vector<Pipeline> v(std::size_t(n_global), global);
  v.insert(v.end(), std::size_t(n_local), local);
  return MultiView(std::move(v));
}

SIMILE_INLINE void MultiView::make(const ImageSample& sample, std::uint64_t seed, std::uint64_t epoch, Index index, int v, Image& work) const {
  check<ValueError>(v >= 0 && v < count(), "MultiView::make: view ", v, " of ", count());
  work.load(sample.pixels, sample.channels, sample.height, sample.width);
  Rng rng = stream(seed, epoch, index, v);
  views_[std::size_t(v)].apply(work, rng);
}

SIMILE_INLINE std::vector<Tensor<float>> MultiView::views(const ImageSample& sample, std::uint64_t seed, std::uint64_t epoch, Index index) const {
  Image work;
  std::vector<Tensor<float>> out;
  for (int v = 0; v < count(); ++v) {
    make(sample, seed, epoch, index, v, work);
    out.push_back(work.to_tensor());
  }
  return out;
}

SIMILE_INLINE Tensor<float> MultiView::make_stacked(const ImageDataset& data, std::span<const Index> indices, std::uint64_t seed, std::uint64_t epoch, ViewWorkspace& ws) const {
  Tensor<float> all;
  fill(data, indices, seed, epoch, ws, &all);
  return all;
}

SIMILE_INLINE std::vector<Tensor<float>> MultiView::fill(const ImageDataset& data, std::span<const Index> indices, std::uint64_t seed, std::uint64_t epoch, ViewWorkspace& ws, Tensor<float>* stacked) const {
  const char* who = stacked ? "MultiView::make_stacked" : "MultiView::make_batch";
  check<ValueError>(count() > 0, who, ": no views configured");
  auto B = static_cast<Index>(indices.size());
  std::vector<Tensor<float>> out(static_cast<std::size_t>(count()));
  if (B == 0) return out;
  if (ws.images.size() < std::size_t(num_threads())) ws.images.resize(std::size_t(num_threads()));
  // Sample 0 first, on this thread: its views fix the output shapes.
  std::vector<Shape> shapes(static_cast<std::size_t>(count()));
  for (int v = 0; v < count(); ++v) {
    Image& work = ws.images[0];
    make(data.get(indices[0]), seed, epoch, indices[0], v, work);
    shapes[std::size_t(v)] = work.shape();
    if (!stacked) {
      out[std::size_t(v)] = Tensor<float>::empty({B, work.channels(), work.height(), work.width()});
    } else {
      check<ShapeError>(work.shape() == shapes[0], who, ": view ", v, " is ", work.shape(), " but view 0 is ",
                        shapes[0], " (stacked views need one size; multi-crop views need make_batch)");
      if (v == 0) *stacked = Tensor<float>::empty({count() * B, work.channels(), work.height(), work.width()});
      out[std::size_t(v)] = stacked->slice_rows(v * B, (v + 1) * B);
    }
    std::memcpy(out[std::size_t(v)].data(), work.data(), std::size_t(work.numel()) * sizeof(float));
  }
  parallel_chunked(1, B, 1, [&](int chunk, Index begin, Index end) {
    Image& work = ws.images[std::size_t(chunk)];
    for (Index b = begin; b < end; ++b) {
      Index i = indices[std::size_t(b)];
      ImageSample s = data.get(i);
      for (int v = 0; v < count(); ++v) {
        make(s, seed, epoch, i, v, work);
        const Shape& want = shapes[std::size_t(v)];
        check<ShapeError>(work.shape() == want, who, ": view ", v, " of sample ", i, " is ", work.shape(),
                          " but the first sample's is ", want,
                          " (end the pipeline with a fixed-size crop or resize)");
        Index per = work.numel();
        std::memcpy(out[std::size_t(v)].data() + b * per, work.data(), std::size_t(per) * sizeof(float));
      }
    }
  });
  return out;
}

}  // namespace simile
