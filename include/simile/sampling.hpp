#pragma once
/// \file
/// Learning-signal layer, sampling: in-batch pairs and triplets, batch samplers, miners, the MoCo queue.
#include "simile/sampling/batch_sampler.hpp"
#include "simile/sampling/miners.hpp"
#include "simile/sampling/momentum_queue.hpp"
#include "simile/sampling/pairs.hpp"
