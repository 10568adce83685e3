// wastenet/version.hpp - the library version.
#pragma once

#define WASTENET_VERSION_MAJOR 0
#define WASTENET_VERSION_MINOR 1
#define WASTENET_VERSION_PATCH 0

namespace wastenet {
inline constexpr const char* version_string = "0.1.0";
}  // namespace wastenet
