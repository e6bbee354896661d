#pragma once
/// \file
/// Learning-signal layer, losses: contrastive and non-contrastive objectives, one header per loss.
#include "simile/losses/barlow_twins.hpp"
#include "simile/losses/contrastive.hpp"
#include "simile/losses/info_nce.hpp"
#include "simile/losses/negative_cosine.hpp"
#include "simile/losses/nt_xent.hpp"
#include "simile/losses/supcon.hpp"
#include "simile/losses/triplet.hpp"
#include "simile/losses/vicreg.hpp"
