#pragma once
/// \file
/// Formats: safetensors checkpoints.
#include "simile/io/safetensors.hpp"
