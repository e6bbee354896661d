#pragma once
/// \file
/// Evaluation of frozen representations: linear probe, kNN, representation health.
#include "simile/eval/knn.hpp"
#include "simile/eval/linear_probe.hpp"
#include "simile/eval/report.hpp"
#include "simile/eval/representation.hpp"
