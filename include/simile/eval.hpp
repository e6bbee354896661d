#pragma once
/// \file
/// Evaluation of frozen representations: linear probe, kNN, retrieval, representation health, the TF-IDF
/// text baseline, and two-dimensional maps (PCA, t-SNE).
#include "simile/eval/embedding_map.hpp"
#include "simile/eval/knn.hpp"
#include "simile/eval/linear_probe.hpp"
#include "simile/eval/report.hpp"
#include "simile/eval/representation.hpp"
#include "simile/eval/retrieval.hpp"
#include "simile/eval/sentence.hpp"
#include "simile/eval/tfidf.hpp"
