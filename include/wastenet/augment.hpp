// wastenet/augment.hpp - the augmentation toolkit: geometric and photometric image operations,
// a seeded random source, and pipelines of random steps. Needs no model code.
#pragma once

#include "wastenet/augment/geometry.hpp"
#include "wastenet/augment/photometric.hpp"
#include "wastenet/augment/pipeline.hpp"
#include "wastenet/augment/random.hpp"
