// SPDX-License-Identifier: MIT
// The SAX handler behind ParseTokenizerJson. It keeps a stack of open containers; containers
// under model.vocab / model.merges are recognised by their path and streamed, all others are
// built as nlohmann::json nodes.

#include "tokenizer/json_sax.h"

#include <exception>

namespace mamba {
namespace {

using json = nlohmann::json;

class Handler : public nlohmann::json_sax<json> {
 public:
  explicit Handler(TokenizerJsonParts& parts) : parts_(parts) {}

  const std::string& error() const { return error_; }

  bool null() override { return Value(json(nullptr)); }
  bool boolean(bool v) override { return Value(json(v)); }
  bool number_integer(number_integer_t v) override {
    if (Top() == Kind::kVocab) {
      if (v < 0) return Fail("model.vocab[\"" + TopKey() + "\"]: negative id");
      parts_.vocab.emplace_back(std::move(TopFrame().key), v);
      return true;
    }
    return Value(json(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (Top() == Kind::kVocab) {
      if (v > static_cast<number_unsigned_t>(INT64_MAX)) {
        return Fail("model.vocab[\"" + TopKey() + "\"]: id out of range");
      }
      parts_.vocab.emplace_back(std::move(TopFrame().key), static_cast<int64_t>(v));
      return true;
    }
    return Value(json(v));
  }
  bool number_float(number_float_t v, const string_t&) override { return Value(json(v)); }
  bool binary(binary_t&) override { return Fail("unexpected binary value"); }
  bool string(string_t& v) override {
    switch (Top()) {
      case Kind::kMerges: {
        const size_t space = v.find(' ');
        if (space == std::string::npos) {
          return Fail("model.merges[" + std::to_string(parts_.merges.size()) +
                      "]: expected \"a b\" (two tokens separated by a space), got \"" + v + "\"");
        }
        parts_.merges.emplace_back(v.substr(0, space), v.substr(space + 1));
        return true;
      }
      case Kind::kMergePair: {
        Frame& f = TopFrame();
        if (f.count >= 2) return Fail(MergeIndex() + ": a merge pair has more than 2 elements");
        (f.count == 0 ? f.key : f.second) = std::move(v);
        ++f.count;
        return true;
      }
      default:
        return Value(json(std::move(v)));
    }
  }

  bool start_object(std::size_t) override { return Start(/*is_object=*/true); }
  bool start_array(std::size_t) override { return Start(/*is_object=*/false); }
  bool key(string_t& k) override {
    TopFrame().key = std::move(k);
    return true;
  }
  bool end_object() override { return End(); }
  bool end_array() override { return End(); }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    std::string what = e.what();
    const size_t bracket = what.find("] ");
    if (what.rfind("[json.exception", 0) == 0 && bracket != std::string::npos) {
      what = what.substr(bracket + 2);
    }
    error_ = "malformed JSON: " + what;
    return false;
  }

 private:
  enum class Kind { kDom, kModel, kVocab, kMerges, kMergePair, kNone };
  struct Frame {
    Kind kind;
    bool is_object;
    json* node;       // null for streamed containers
    std::string key;  // current key (objects); first element (merge pairs)
    std::string second;
    size_t count = 0;
  };

  Kind Top() const { return stack_.empty() ? Kind::kNone : stack_.back().kind; }
  Frame& TopFrame() { return stack_.back(); }

  std::string MergeIndex() const {
    return "model.merges[" + std::to_string(parts_.merges.size()) + "]";
  }

  bool Fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  // Stores a finished value in the open DOM container (or as the root).
  json* Insert(json value) {
    if (stack_.empty()) {
      parts_.rest = std::move(value);
      return &parts_.rest;
    }
    Frame& f = TopFrame();
    if (f.is_object) {
      json& slot = (*f.node)[f.key];
      slot = std::move(value);
      return &slot;
    }
    f.node->push_back(std::move(value));
    return &f.node->back();
  }

  bool Value(json value) {
    switch (Top()) {
      case Kind::kVocab:
        return Fail("model.vocab[\"" + TopKey() + "\"]: expected an integer id");
      case Kind::kMerges:
      case Kind::kMergePair:
        return Fail(MergeIndex() + ": expected \"a b\" or [\"a\", \"b\"]");
      default:
        Insert(std::move(value));
        return true;
    }
  }
  const std::string& TopKey() const { return stack_.back().key; }

  bool Start(bool is_object) {
    const Kind parent = Top();
    if (parent == Kind::kVocab) return Fail("model.vocab[\"" + TopKey() + "\"]: expected an id");
    if (parent == Kind::kMergePair || (parent == Kind::kMerges && is_object)) {
      return Fail(MergeIndex() + ": expected \"a b\" or [\"a\", \"b\"]");
    }
    if (parent == Kind::kMerges) {
      stack_.push_back(Frame{Kind::kMergePair, false, nullptr, {}, {}, 0});
      return true;
    }
    if (parent == Kind::kModel && is_object && TopKey() == "vocab") {
      parts_.has_vocab = true;
      parts_.vocab.clear();
      stack_.push_back(Frame{Kind::kVocab, true, nullptr, {}, {}, 0});
      return true;
    }
    if (parent == Kind::kModel && !is_object && TopKey() == "merges") {
      parts_.has_merges = true;
      parts_.merges.clear();
      stack_.push_back(Frame{Kind::kMerges, false, nullptr, {}, {}, 0});
      return true;
    }
    const bool is_model =
        is_object && stack_.size() == 1 && stack_[0].is_object && TopKey() == "model";
    json* node = Insert(is_object ? json::object() : json::array());
    stack_.push_back(Frame{is_model ? Kind::kModel : Kind::kDom, is_object, node, {}, {}, 0});
    return true;
  }

  bool End() {
    if (Top() == Kind::kMergePair) {
      Frame& f = TopFrame();
      if (f.count != 2) return Fail(MergeIndex() + ": a merge pair needs exactly 2 strings");
      parts_.merges.emplace_back(std::move(f.key), std::move(f.second));
    }
    stack_.pop_back();
    return true;
  }

  TokenizerJsonParts& parts_;
  std::vector<Frame> stack_;
  std::string error_;
};

}  // namespace

StatusOr<TokenizerJsonParts> ParseTokenizerJson(std::string_view text, const std::string& name) {
  TokenizerJsonParts parts;
  Handler handler(parts);
  bool ok = false;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &handler);
  } catch (const std::exception& e) {
    return InvalidArgumentError(name + ": cannot parse JSON: " + e.what());
  }
  if (!ok) {
    const std::string& why =
        handler.error().empty() ? std::string("malformed JSON") : handler.error();
    return InvalidArgumentError(name + ": " + why);
  }
  return parts;
}

}  // namespace mamba
