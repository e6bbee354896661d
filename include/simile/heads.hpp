#pragma once
/// \file
/// Heads: the MLPs on top of an encoder's representation h: `ProjectionHead` (SimCLR, MoCo v2, BYOL's
/// projector) and `PredictionHead` (BYOL's predictor).
#include "simile/heads/prediction.hpp"
#include "simile/heads/projection.hpp"
