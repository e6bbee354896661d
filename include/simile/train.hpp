#pragma once
/// \file
/// Training: the trainer, callbacks, checkpoints, EMA targets and the recipes.
#include "simile/train/callbacks.hpp"
#include "simile/train/checkpoint.hpp"
#include "simile/train/ema.hpp"
#include "simile/train/horizon.hpp"
#include "simile/train/recipe.hpp"
#include "simile/train/recipes/barlow.hpp"
#include "simile/train/recipes/byol.hpp"
#include "simile/train/recipes/dual_encoder.hpp"
#include "simile/train/recipes/moco.hpp"
#include "simile/train/recipes/simclr.hpp"
#include "simile/train/recipes/supcon.hpp"
#include "simile/train/trainer.hpp"
