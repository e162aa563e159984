// A small JSON reader for tests that check JSON lines the program writes
// (objects, arrays, strings with escapes, numbers, true, false, null).
// Malformed text fails the test with the offset.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rnnsearch::testing {

struct Json {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  bool boolean = false;
  double number = 0;
  std::string text;
  std::vector<Json> items;             // array elements
  std::map<std::string, Json> fields;  // object members
  const Json& at(const std::string& key) const {
    const auto it = fields.find(key);
    if (it == fields.end()) throw std::out_of_range("no JSON key '" + key + "'");
    return it->second;
  }
};

class JsonParser {
 public:
  explicit JsonParser(const std::string& s) : s_(s) {}

  Json Document() {
    Json v = Value();
    Space();
    if (i_ != s_.size()) Fail("trailing text");
    return v;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) {
    throw std::runtime_error("JSON: " + what + " at offset " + std::to_string(i_) + " of: " + s_);
  }
  void Space() {
    while (i_ < s_.size() && std::string_view(" \t\n\r").find(s_[i_]) != std::string_view::npos) {
      ++i_;
    }
  }
  void Expect(char c) {
    Space();
    if (i_ >= s_.size() || s_[i_] != c) Fail(std::string("expected '") + c + "'");
    ++i_;
  }
  bool Word(const char* w) {
    const std::string word(w);
    if (s_.compare(i_, word.size(), word) != 0) return false;
    i_ += word.size();
    return true;
  }
  std::string String() {
    Expect('"');
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (c == '\\') {
        if (i_ >= s_.size()) Fail("unfinished escape");
        c = s_[i_++];
        switch (c) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'u': {
            if (i_ + 4 > s_.size()) Fail("short \\u escape");
            const long code = std::strtol(s_.substr(i_, 4).c_str(), nullptr, 16);
            i_ += 4;
            if (code >= 0x80) Fail("non-ASCII \\u escapes are not supported here");
            out += static_cast<char>(code);
            break;
          }
          default: out += c;  // " \ /
        }
      } else {
        out += c;
      }
    }
    Expect('"');
    return out;
  }
  Json Value() {
    Space();
    if (i_ >= s_.size()) Fail("unexpected end");
    Json v;
    const char c = s_[i_];
    if (c == '{') {
      v.kind = Json::kObject;
      ++i_;
      Space();
      if (i_ < s_.size() && s_[i_] == '}') {
        ++i_;
        return v;
      }
      for (;;) {
        const std::string key = String();
        Expect(':');
        v.fields[key] = Value();
        Space();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        Expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.kind = Json::kArray;
      ++i_;
      Space();
      if (i_ < s_.size() && s_[i_] == ']') {
        ++i_;
        return v;
      }
      for (;;) {
        v.items.push_back(Value());
        Space();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        Expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.kind = Json::kString;
      v.text = String();
      return v;
    }
    if (Word("true")) {
      v.kind = Json::kBool;
      v.boolean = true;
      return v;
    }
    if (Word("false")) {
      v.kind = Json::kBool;
      return v;
    }
    if (Word("null")) return v;
    const char* begin = s_.c_str() + i_;
    char* end = nullptr;
    v.number = std::strtod(begin, &end);
    if (end == begin) Fail("expected a value");
    v.kind = Json::kNumber;
    i_ += static_cast<std::size_t>(end - begin);
    return v;
  }

  const std::string& s_;
  std::size_t i_ = 0;
};

// The value of a JSON text; a malformed one fails the current test.
inline Json ParseJson(const std::string& text) {
  try {
    return JsonParser(text).Document();
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
    return Json{};
  }
}

}  // namespace rnnsearch::testing
