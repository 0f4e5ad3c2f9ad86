// A reader for `torch.save(state_dict)` zip archives. libtorch 1.13's torch::pickle_load cannot
// read them: its unpickler turns the collections.OrderedDict that state_dict() returns into None
// (pytorch/pytorch#100741, fixed only in 2.x). So this file unpickles data.pkl itself, supporting
// exactly the opcodes and globals that torch.save emits for (nested) dicts of tensors:
// containers, strings, numbers, persistent storage ids ("data/<key>" records) and the
// torch._utils._rebuild_tensor_v2 / _rebuild_parameter / OrderedDict constructors (and the type
// tag of libtorch's torch::pickle_save).
#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>

#include "bnrecal/core/error.h"
#include "bnrecal/core/input_limits.h"
#include "bnrecal/models/importer.h"

namespace bnrecal::detail {

namespace {

struct PyValue;
// Values are owned by the Unpickler's arena, not by each other: the memo lets a pickle put a
// container inside itself, and a deep tree is freed one value at a time, without recursion.
using Value = PyValue*;

struct PyValue {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kTuple, kList, kDict, kGlobal, kTensor };
  Kind kind = Kind::kNone;
  int64_t integer = 0;
  double real = 0;
  std::string text;                            // string, or "module.name" of a global
  std::vector<Value> items;                    // tuple, list
  std::vector<std::pair<Value, Value>> dict;   // in insertion order
  at::Tensor tensor;                           // tensor, or a storage as a flat tensor
};


at::ScalarType storage_dtype(const std::string& global) {
  static const std::map<std::string, at::ScalarType> types = {
      {"torch.FloatStorage", at::kFloat},   {"torch.DoubleStorage", at::kDouble}, {"torch.HalfStorage", at::kHalf},
      {"torch.BFloat16Storage", at::kBFloat16}, {"torch.LongStorage", at::kLong}, {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort},   {"torch.CharStorage", at::kChar},     {"torch.ByteStorage", at::kByte},
      {"torch.BoolStorage", at::kBool}};
  auto it = types.find(global);
  if (it == types.end()) throw InputError("unsupported tensor storage type " + global);
  return it->second;
}

class Unpickler {
 public:
  Unpickler(caffe2::serialize::PyTorchStreamReader& archive, const std::string& path)
      : archive_(archive), path_(path) {
    auto [data, size] = archive_.getRecord("data.pkl");
    bytes_.assign(static_cast<const char*>(data.get()), static_cast<const char*>(data.get()) + size);
  }

  Value run() {
    while (true) {
      const uint8_t op = read<uint8_t>();
      if (op == '.') break;  // STOP
      step(op);
    }
    if (stack_.size() != 1) fail("malformed pickle");
    return stack_.back();
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError("'" + path_ + "': cannot read torch.save data (" + what + ")");
  }
  template <typename T>
  T read() {
    if (sizeof(T) > bytes_.size() - pos_) fail("truncated pickle");
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));  // pickle integers are little-endian
    pos_ += sizeof(T);
    return value;
  }
  std::string read_bytes(uint64_t n) {
    if (n > bytes_.size() - pos_) fail("truncated pickle");  // (pos_ + n could wrap around)
    std::string s(bytes_.data() + pos_, n);
    pos_ += n;
    return s;
  }
  std::string read_line() {
    const size_t end = static_cast<size_t>(std::find(bytes_.begin() + static_cast<std::ptrdiff_t>(pos_), bytes_.end(), '\n') -
                                           bytes_.begin());
    if (end == bytes_.size()) fail("truncated pickle");
    std::string s(bytes_.data() + pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }
  Value pop() {
    if (stack_.empty()) fail("stack underflow");
    Value v = stack_.back();
    stack_.pop_back();
    return v;
  }
  std::vector<Value> pop_to_mark() {
    if (marks_.empty()) fail("missing MARK");
    if (marks_.back() > stack_.size()) fail("MARK below the stack's top");  // items popped past it
    std::vector<Value> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  void push_string(std::string s) {
    Value v = make(PyValue::Kind::kString);
    v->text = std::move(s);
    stack_.push_back(v);
  }
  void push_int(int64_t i) {
    Value v = make(PyValue::Kind::kInt);
    v->integer = i;
    stack_.push_back(v);
  }
  void push_tuple(std::vector<Value> items) {
    Value v = make(PyValue::Kind::kTuple);
    v->items = std::move(items);
    stack_.push_back(v);
  }
  Value make(PyValue::Kind kind) {
    arena_.push_back(std::make_unique<PyValue>());
    arena_.back()->kind = kind;
    return arena_.back().get();
  }
  Value& top() {
    if (stack_.empty()) fail("stack underflow");
    return stack_.back();
  }

  // One opcode: a scalar, a container operation, or a reference (memo, global, call).
  void step(uint8_t op) {
    if (!push_scalar(op) && !build_container(op) && !resolve_reference(op)) {
      fail("unsupported pickle opcode " + std::to_string(op));
    }
  }

  bool push_scalar(uint8_t op) {
    switch (op) {
      case 0x80: read<uint8_t>(); return true;              // PROTO
      case 0x95: read<uint64_t>(); return true;             // FRAME
      case '(': marks_.push_back(stack_.size()); return true;  // MARK
      case 'N': stack_.push_back(make(PyValue::Kind::kNone)); return true;
      case 0x88: case 0x89: {                         // NEWTRUE, NEWFALSE
        Value v = make(PyValue::Kind::kBool);
        v->integer = op == 0x88;
        stack_.push_back(v);
        return true;
      }
      case 'K': push_int(read<uint8_t>()); return true;     // BININT1
      case 'M': push_int(read<uint16_t>()); return true;    // BININT2
      case 'J': push_int(read<int32_t>()); return true;     // BININT
      case 0x8a: {                                    // LONG1: little-endian two's complement
        const std::string b = read_bytes(read<uint8_t>());
        if (b.size() > 8) fail("integer too large");
        uint64_t u = 0;
        for (size_t i = 0; i < b.size(); ++i) u |= uint64_t(uint8_t(b[i])) << (8 * i);
        if (!b.empty() && b.size() < 8 && (uint8_t(b.back()) & 0x80)) u |= ~uint64_t(0) << (8 * b.size());
        push_int(static_cast<int64_t>(u));
        return true;
      }
      case 'G': {                                     // BINFLOAT: big-endian double
        uint64_t u = 0;
        for (int i = 0; i < 8; ++i) u = (u << 8) | read<uint8_t>();
        Value v = make(PyValue::Kind::kFloat);
        std::memcpy(&v->real, &u, 8);
        stack_.push_back(v);
        return true;
      }
      case 'X': push_string(read_bytes(read<uint32_t>())); return true;   // BINUNICODE
      case 0x8c: push_string(read_bytes(read<uint8_t>())); return true;   // SHORT_BINUNICODE
      case 0x8d: push_string(read_bytes(read<uint64_t>())); return true;  // BINUNICODE8
      case 'T': push_string(read_bytes(read<uint32_t>())); return true;   // BINSTRING
      case 'U': push_string(read_bytes(read<uint8_t>())); return true;    // SHORT_BINSTRING
      default: return false;
    }
  }

  bool build_container(uint8_t op) {
    switch (op) {
      case ')': push_tuple({}); return true;                              // EMPTY_TUPLE
      case 't': push_tuple(pop_to_mark()); return true;                   // TUPLE
      case 0x85: case 0x86: case 0x87: {                            // TUPLE1..3
        std::vector<Value> items(op - 0x84);
        for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
        push_tuple(std::move(items));
        return true;
      }
      case ']': stack_.push_back(make(PyValue::Kind::kList)); return true;  // EMPTY_LIST
      case '}': stack_.push_back(make(PyValue::Kind::kDict)); return true;  // EMPTY_DICT
      case 'a': { Value item = pop(); top()->items.push_back(item); return true; }  // APPEND
      case 'e': { auto items = pop_to_mark(); for (auto& i : items) top()->items.push_back(i); return true; }
      case 's': { Value v = pop(), k = pop(); top()->dict.emplace_back(k, v); return true; }  // SETITEM
      case 'u': {                                                     // SETITEMS
        auto items = pop_to_mark();
        if (items.size() % 2) fail("odd SETITEMS");
        for (size_t i = 0; i < items.size(); i += 2) top()->dict.emplace_back(items[i], items[i + 1]);
        return true;
      }
      default: return false;
    }
  }

  bool resolve_reference(uint8_t op) {
    switch (op) {
      case 'q': memo_[read<uint8_t>()] = top(); return true;        // BINPUT
      case 'r': memo_[read<uint32_t>()] = top(); return true;       // LONG_BINPUT
      case 0x94: memo_[memo_.size()] = top(); return true;          // MEMOIZE
      case 'h': stack_.push_back(memo_get(read<uint8_t>())); return true;   // BINGET
      case 'j': stack_.push_back(memo_get(read<uint32_t>())); return true;  // LONG_BINGET
      case 'c': {                                                     // GLOBAL
        Value v = make(PyValue::Kind::kGlobal);
        v->text = read_line();
        v->text += "." + read_line();
        stack_.push_back(v);
        return true;
      }
      case 0x93: {                                                    // STACK_GLOBAL
        Value name = pop(), module = pop();
        Value v = make(PyValue::Kind::kGlobal);
        v->text = module->text + "." + name->text;
        stack_.push_back(v);
        return true;
      }
      case 'Q': stack_.push_back(load_storage(pop())); return true;         // BINPERSID
      case 'R': case 0x81: {                                          // REDUCE, NEWOBJ
        Value args = pop(), callable = pop();
        stack_.push_back(call(callable, args));
        return true;
      }
      case 'b': pop(); return true;  // BUILD: only OrderedDict's _metadata (version info) uses it; dropped
      default: return false;
    }
  }

  Value memo_get(uint32_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail("bad memo reference");
    return it->second;
  }

  // ('storage', torch.FloatStorage, key, location, numel): the flat data of record data/<key>.
  Value load_storage(const Value& pid) {
    if (pid->kind != PyValue::Kind::kTuple || pid->items.size() < 5 || pid->items[0]->text != "storage")
      fail("unexpected persistent id");
    const std::string key = pid->items[2]->text;
    auto cached = storages_.find(key);
    if (cached != storages_.end()) return cached->second;
    const at::ScalarType dtype = storage_dtype(pid->items[1]->text);
    const int64_t numel = declared_elements({pid->items[4]->integer}, "'" + path_ + "' storage " + key);
    auto [data, size] = archive_.getRecord("data/" + key);
    if (size != static_cast<uint64_t>(numel) * c10::elementSize(dtype)) fail("storage " + key + " has the wrong size");
    Value v = make(PyValue::Kind::kTensor);
    v->tensor = at::empty({numel}, at::TensorOptions().dtype(dtype));
    std::memcpy(v->tensor.data_ptr(), data.get(), size);
    storages_[key] = v;
    return v;
  }

  static std::vector<int64_t> ints(const Value& tuple) {
    std::vector<int64_t> out;
    for (const auto& v : tuple->items) out.push_back(v->integer);
    return out;
  }

  Value call(const Value& callable, const Value& args) {
    const std::string& f = callable->text;
    const auto& a = args->items;
    if (f == "collections.OrderedDict") return make(PyValue::Kind::kDict);
    if (f == "torch._utils._rebuild_tensor_v2" && a.size() >= 4) {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      // The clone materializes the view: a stride-0 (expanded) view of a tiny storage can declare
      // billions of elements, so its size is checked first.
      const std::vector<int64_t> size = ints(a[2]);
      declared_elements(size, "'" + path_ + "' tensor");
      Value v = make(PyValue::Kind::kTensor);
      v->tensor = a[0]->tensor.as_strided(size, ints(a[3]), a[1]->integer).clone();
      return v;
    }
    if (f == "torch._utils._rebuild_parameter" && !a.empty()) return a[0];
    // libtorch's own pickle_save tags typed containers with their TorchScript type: (object, type).
    if (f == "torch.jit._pickle.restore_type_tag" && !a.empty()) return a[0];
    fail("unsupported object " + f + "; the file holds more than a state dict of tensors");
  }

  caffe2::serialize::PyTorchStreamReader& archive_;
  std::string path_;
  std::vector<char> bytes_;
  size_t pos_ = 0;
  std::vector<Value> stack_;
  std::vector<size_t> marks_;
  std::map<uint32_t, Value> memo_;
  std::map<std::string, Value> storages_;
  std::vector<std::unique_ptr<PyValue>> arena_;
};

void collect(const Value& dict, const std::string& path, NamedTensors& out) {
  for (const auto& [key, value] : dict->dict) {
    if (key->kind != PyValue::Kind::kString) throw InputError("'" + path + "' has a state dict key that is not a string");
    if (value->kind != PyValue::Kind::kTensor)
      throw InputError("'" + path + "': entry '" + key->text + "' is not a tensor");
    out.emplace_back(key->text, value->tensor);
  }
}

}  // namespace

NamedTensors read_torch_save(const std::string& path) {
  try {
    caffe2::serialize::PyTorchStreamReader archive(path);
    Unpickler unpickler(archive, path);  // owns every value until the tensors are collected
    Value root = unpickler.run();
    if (root->kind != PyValue::Kind::kDict)
      throw InputError("'" + path + "' does not hold a dict of tensors (save model.state_dict(), not the model)");
    // {"state_dict": {...}} and {"model": {...}} are the usual training-checkpoint wrappers.
    Value inner = nullptr;
    for (const auto& [key, value] : root->dict)
      if ((key->text == "state_dict" || key->text == "model") && value->kind == PyValue::Kind::kDict) inner = value;
    if (inner) root = inner;
    NamedTensors tensors;
    collect(root, path, tensors);
    return tensors;
  } catch (const c10::Error& e) {
    throw InputError("'" + path + "' is not a readable torch.save archive: " + e.what_without_backtrace());
  }
}

}  // namespace bnrecal::detail
