#pragma once
/// \file
/// Optimization layer: the optimizer base and parameter groups, SGD, Adam/AdamW, LARS, and schedules.
#include "simile/optim/adam.hpp"
#include "simile/optim/lars.hpp"
#include "simile/optim/optimizer.hpp"
#include "simile/optim/schedule.hpp"
#include "simile/optim/sgd.hpp"
