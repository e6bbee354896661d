#pragma once
/// \file
/// Autodiff layer: Var, graph recording and backward, the no-grad guard, gradcheck.
#include "simile/autograd/gradcheck.hpp"
#include "simile/autograd/var.hpp"
