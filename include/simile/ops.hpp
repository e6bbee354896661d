#pragma once
/// \file
/// Differentiable ops, one header per family.
#include "simile/ops/batch_norm.hpp"
#include "simile/ops/binary.hpp"
#include "simile/ops/conv.hpp"
#include "simile/ops/distributed.hpp"
#include "simile/ops/dropout.hpp"
#include "simile/ops/matmul.hpp"
#include "simile/ops/normalize.hpp"
#include "simile/ops/pool.hpp"
#include "simile/ops/reduce.hpp"
#include "simile/ops/shape.hpp"
#include "simile/ops/softmax.hpp"
#include "simile/ops/unary.hpp"
