#pragma once
/// \file
/// Evaluation of frozen representations: linear probe, kNN, retrieval, representation health, and the TF-IDF
/// text baseline.
#include "simile/eval/knn.hpp"
#include "simile/eval/linear_probe.hpp"
#include "simile/eval/report.hpp"
#include "simile/eval/representation.hpp"
#include "simile/eval/retrieval.hpp"
#include "simile/eval/sentence.hpp"
#include "simile/eval/tfidf.hpp"
