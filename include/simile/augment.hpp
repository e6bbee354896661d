#pragma once
/// \file
/// Augmentation: image transforms, pipelines and multi-view generation; vector and text transforms;
/// the trainer's view sources.
#include "simile/augment/color.hpp"
#include "simile/augment/filter.hpp"
#include "simile/augment/geometry.hpp"
#include "simile/augment/image.hpp"
#include "simile/augment/multiview.hpp"
#include "simile/augment/spec.hpp"
#include "simile/augment/text.hpp"
#include "simile/augment/vector.hpp"
#include "simile/augment/view_sources.hpp"
