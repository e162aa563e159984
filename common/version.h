// Version of this build: the project version and the git revision it was
// built from (generated at build time by cmake/WriteVersion.cmake).
#pragma once

namespace rnnsearch {
const char* Version();
const char* GitRevision();
}  // namespace rnnsearch
