#pragma once
/// \file
/// Everything simile offers, one include.
#include "simile/augment.hpp"
#include "simile/autograd.hpp"
#include "simile/core.hpp"
#include "simile/data.hpp"
#include "simile/encoders.hpp"
#include "simile/eval.hpp"
#include "simile/heads.hpp"
#include "simile/io.hpp"
#include "simile/losses.hpp"
#include "simile/nn.hpp"
#include "simile/ops.hpp"
#include "simile/optim.hpp"
#include "simile/sampling.hpp"
#include "simile/train.hpp"
#include "simile/version.hpp"
