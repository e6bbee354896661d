#pragma once
/// \file
/// Modules layer: `Module` with named parameters, buffers and children; initialization; layers.
#include "simile/nn/activation.hpp"
#include "simile/nn/attention.hpp"
#include "simile/nn/batch_norm.hpp"
#include "simile/nn/conv2d.hpp"
#include "simile/nn/dropout.hpp"
#include "simile/nn/embedding.hpp"
#include "simile/nn/flatten.hpp"
#include "simile/nn/init.hpp"
#include "simile/nn/layer_norm.hpp"
#include "simile/nn/layer_stack.hpp"
#include "simile/nn/linear.hpp"
#include "simile/nn/module.hpp"
#include "simile/nn/pool.hpp"
#include "simile/nn/sequential.hpp"
#include "simile/nn/transformer.hpp"
