#pragma once

#include <string>

namespace inlet {

/// A random (version 4) UUID in canonical lowercase form.
std::string NewUuid();

}  // namespace inlet
