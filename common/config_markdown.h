// The config keys as a Markdown page: docs/config.md is this text, written
// by `rnnsearch train --config-keys-markdown > docs/config.md`, and a test
// (tests/common/readme_test.cc) fails when the file and the code differ.
#pragma once

#include <string>

namespace rnnsearch {

// One table per section (model, data, train, checkpoint, dist) with each
// key's type and range or choices, its default as YAML writes it, and its
// description, in the order of common/config.h.
std::string ConfigKeysMarkdown();

}  // namespace rnnsearch
