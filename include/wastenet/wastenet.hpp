// wastenet/wastenet.hpp - everything. Include only the headers you need to keep builds small:
// vote.hpp needs only the standard library, augment/ needs no model code.
#pragma once

#include "wastenet/augment.hpp"
#include "wastenet/classifier.hpp"
#include "wastenet/error.hpp"
#include "wastenet/half.hpp"
#include "wastenet/image.hpp"
#include "wastenet/io/image.hpp"
#include "wastenet/io/safetensors.hpp"
#include "wastenet/models/model.hpp"
#include "wastenet/models/pack.hpp"
#include "wastenet/network.hpp"
#include "wastenet/precision.hpp"
#include "wastenet/preprocess.hpp"
#include "wastenet/tensor.hpp"
#include "wastenet/version.hpp"
