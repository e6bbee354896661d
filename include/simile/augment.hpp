#pragma once
/// \file
/// Augmentation: image transforms, pipelines and multi-view generation; vector and text transforms.
#include "simile/augment/color.hpp"
#include "simile/augment/filter.hpp"
#include "simile/augment/geometry.hpp"
#include "simile/augment/image.hpp"
#include "simile/augment/multiview.hpp"
#include "simile/augment/text.hpp"
#include "simile/augment/vector.hpp"
