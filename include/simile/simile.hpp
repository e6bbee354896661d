#pragma once
/// \file
/// Everything simile offers, one include.
#include "simile/augment.hpp"
#include "simile/autograd.hpp"
#include "simile/core.hpp"
#include "simile/data.hpp"
#include "simile/losses.hpp"
#include "simile/ops.hpp"
