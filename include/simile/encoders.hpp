#pragma once
/// \file
/// Encoders: the networks f that map an input to its representation h (each a `Module` with `output_dim()`):
/// `Mlp` for vectors, `SmallConvNet` for 28x28 / 32x32 images, `ResNet18` (small-image or ImageNet stem),
/// `TextEncoder` for token sequences (embedding bag + MLP, or a small transformer), `TabularEncoder` for rows
/// of numeric and categorical features.
#include "simile/encoders/mlp.hpp"
#include "simile/encoders/resnet.hpp"
#include "simile/encoders/small_convnet.hpp"
#include "simile/encoders/tabular.hpp"
#include "simile/encoders/text.hpp"
