// .npy reader/writer. The header is a Python dict literal; we parse only the
// three keys NumPy writes and reject anything we cannot represent exactly.
#include "bnrecal/arith/npy.h"


#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/core/input_limits.h"

namespace bnrecal {

int64_t npy_dtype_size(NpyDtype dtype) {
  switch (dtype) {
    case NpyDtype::kUint8: return 1;
    case NpyDtype::kInt8: return 1;
    case NpyDtype::kInt32: return 4;
    case NpyDtype::kInt64: return 8;
    case NpyDtype::kFloat32: return 4;
  }
  throw std::logic_error("invalid NpyDtype");
}

std::string npy_descr(NpyDtype dtype) {
  switch (dtype) {
    case NpyDtype::kUint8: return "|u1";
    case NpyDtype::kInt8: return "|i1";
    case NpyDtype::kInt32: return "<i4";
    case NpyDtype::kInt64: return "<i8";
    case NpyDtype::kFloat32: return "<f4";
  }
  throw std::logic_error("invalid NpyDtype");
}

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

namespace {

template <typename T>
constexpr NpyDtype dtype_of();
template <> constexpr NpyDtype dtype_of<uint8_t>() { return NpyDtype::kUint8; }
template <> constexpr NpyDtype dtype_of<int8_t>() { return NpyDtype::kInt8; }
template <> constexpr NpyDtype dtype_of<int32_t>() { return NpyDtype::kInt32; }
template <> constexpr NpyDtype dtype_of<int64_t>() { return NpyDtype::kInt64; }
template <> constexpr NpyDtype dtype_of<float>() { return NpyDtype::kFloat32; }

const char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw InputError("invalid .npy file '" + path + "': " + what);
}

// Position just after `'key':` (either quote style), or npos.
size_t find_key(const std::string& header, const std::string& key) {
  for (const char q : {'\'', '"'}) {
    const std::string quoted = std::string(1, q) + key + q;
    size_t pos = header.find(quoted);
    if (pos == std::string::npos) continue;
    pos += quoted.size();
    while (pos < header.size() && std::isspace(static_cast<unsigned char>(header[pos]))) ++pos;
    if (pos >= header.size() || header[pos] != ':') return std::string::npos;
    ++pos;
    while (pos < header.size() && std::isspace(static_cast<unsigned char>(header[pos]))) ++pos;
    return pos;
  }
  return std::string::npos;
}

NpyDtype parse_descr(const std::string& path, const std::string& header) {
  const size_t pos = find_key(header, "descr");
  if (pos == std::string::npos || (header[pos] != '\'' && header[pos] != '"'))
    fail(path, "header has no 'descr' string");
  const size_t end = header.find(header[pos], pos + 1);
  if (end == std::string::npos) fail(path, "unterminated 'descr' string");
  const std::string descr = header.substr(pos + 1, end - pos - 1);
  if (descr == "|u1" || descr == "<u1" || descr == "u1") return NpyDtype::kUint8;
  if (descr == "|i1" || descr == "<i1" || descr == "i1") return NpyDtype::kInt8;
  if (descr == "<i4") return NpyDtype::kInt32;
  if (descr == "<i8") return NpyDtype::kInt64;
  if (descr == "<f4") return NpyDtype::kFloat32;
  fail(path, "unsupported dtype '" + descr + "' (expected |u1, |i1, <i4, <i8 or <f4)");
}

bool parse_fortran_order(const std::string& path, const std::string& header) {
  const size_t pos = find_key(header, "fortran_order");
  if (pos == std::string::npos) fail(path, "header has no 'fortran_order'");
  if (header.compare(pos, 5, "False") == 0) return false;
  if (header.compare(pos, 4, "True") == 0) return true;
  fail(path, "malformed 'fortran_order' value");
}

std::vector<int64_t> parse_shape(const std::string& path, const std::string& header) {
  size_t pos = find_key(header, "shape");
  if (pos == std::string::npos || header[pos] != '(') fail(path, "header has no 'shape' tuple");
  const size_t end = header.find(')', pos);
  if (end == std::string::npos) fail(path, "unterminated 'shape' tuple");
  std::vector<int64_t> shape;
  size_t i = pos + 1;
  while (i < end) {
    while (i < end && (std::isspace(static_cast<unsigned char>(header[i])) || header[i] == ',')) ++i;
    if (i >= end) break;
    if (!std::isdigit(static_cast<unsigned char>(header[i]))) fail(path, "malformed 'shape' tuple");
    int64_t v = 0;
    while (i < end && std::isdigit(static_cast<unsigned char>(header[i]))) {
      if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) fail(path, "dimension too large");
      v = v * 10 + (header[i++] - '0');
    }
    if (i < end && header[i] == 'L') ++i;  // Python 2 long suffix
    shape.push_back(v);
  }
  return shape;
}

std::string shape_literal(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// The nbytes at offset of the file (which holds at least that many, checked by the caller):
// mapped when the offset keeps every dtype aligned, else (or when the file cannot be mapped,
// e.g. a pipe) read into memory.
std::shared_ptr<const uint8_t> map_or_read(const std::string& path, int64_t offset, int64_t nbytes) {
  if (nbytes == 0) return std::shared_ptr<const uint8_t>(new uint8_t[1], std::default_delete<uint8_t[]>());
  if (offset % 8 == 0) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      const size_t length = static_cast<size_t>(offset + nbytes);
      void* base = ::mmap(nullptr, length, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      ::close(fd);  // the mapping keeps the file open
      if (base != MAP_FAILED) {
        const uint8_t* data = static_cast<const uint8_t*>(base) + offset;
        return std::shared_ptr<const uint8_t>(data, [base, length](const uint8_t*) { ::munmap(base, length); });
      }
    }
  }
  std::shared_ptr<uint8_t> copy(new uint8_t[static_cast<size_t>(nbytes)], std::default_delete<uint8_t[]>());
  std::ifstream in(path, std::ios::binary);
  in.seekg(offset);
  in.read(reinterpret_cast<char*>(copy.get()), nbytes);
  if (in.gcount() != nbytes)
    fail(path, "truncated data: expected " + std::to_string(nbytes) + " bytes after the " +
                   std::to_string(offset) + "-byte header, found " + std::to_string(in.gcount()));
  return copy;
}

}  // namespace

template <typename T>
const T* NpyArray::data_as() const {
  if (dtype != dtype_of<T>()) throw std::logic_error("NpyArray::data_as: dtype mismatch");
  return reinterpret_cast<const T*>(storage.get());
}
template const uint8_t* NpyArray::data_as<uint8_t>() const;
template const int8_t* NpyArray::data_as<int8_t>() const;
template const int32_t* NpyArray::data_as<int32_t>() const;
template const int64_t* NpyArray::data_as<int64_t>() const;
template const float* NpyArray::data_as<float>() const;

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot open .npy file '" + path + "'");
  char preamble[10];
  in.read(preamble, sizeof preamble);
  if (in.gcount() < 8 || std::memcmp(preamble, kMagic, kMagicLen) != 0)
    fail(path, "bad magic (not a NumPy .npy file)");
  const int major = static_cast<unsigned char>(preamble[6]);
  const int minor = static_cast<unsigned char>(preamble[7]);
  if (major < 1 || major > 3 || minor != 0)
    fail(path, "unsupported format version " + std::to_string(major) + "." + std::to_string(minor));
  // v1 stores the header length in 2 bytes, v2/v3 in 4 (little-endian).
  uint64_t header_len = 0;
  size_t preamble_len = 0;
  if (major == 1) {
    if (in.gcount() < 10) fail(path, "truncated header");
    header_len = static_cast<unsigned char>(preamble[8]) | (static_cast<unsigned char>(preamble[9]) << 8);
    preamble_len = 10;
  } else {
    char extra[2];
    in.read(extra, 2);
    if (in.gcount() != 2) fail(path, "truncated header");
    const unsigned char b[4] = {static_cast<unsigned char>(preamble[8]),
                                static_cast<unsigned char>(preamble[9]),
                                static_cast<unsigned char>(extra[0]),
                                static_cast<unsigned char>(extra[1])};
    header_len = b[0] | (b[1] << 8) | (uint64_t{b[2]} << 16) | (uint64_t{b[3]} << 24);
    preamble_len = 12;
  }
  if (header_len > (uint64_t{1} << 24)) fail(path, "header length too large");
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  if (static_cast<uint64_t>(in.gcount()) != header_len) fail(path, "truncated header");
  if (header.find('{') == std::string::npos || header.find('}') == std::string::npos)
    fail(path, "malformed header (no dict literal)");

  NpyArray a;
  a.dtype = parse_descr(path, header);
  if (parse_fortran_order(path, header)) fail(path, "fortran_order True is not supported (save C order)");
  a.shape = parse_shape(path, header);
  const int64_t nbytes = declared_elements(a.shape, "'" + path + "'") * npy_dtype_size(a.dtype);
  // Checked before allocating: the header's shape must fit in what the file holds.
  const int64_t available = file_size(path) - static_cast<int64_t>(preamble_len + header_len);
  if (nbytes > available)
    fail(path, "truncated data: the shape needs " + std::to_string(nbytes) + " bytes after the " +
                   std::to_string(preamble_len + header_len) + "-byte header, the file has " +
                   std::to_string(available));
  a.storage = map_or_read(path, static_cast<int64_t>(preamble_len + header_len), nbytes);
  return a;
}

namespace {

// The magic, version, header length and the header dict, padded with spaces so that the data
// starts on a 64-byte boundary, as NumPy writes it.
std::string npy_preamble_and_header(NpyDtype dtype, const std::vector<int64_t>& shape) {
  std::string header = "{'descr': '" + npy_descr(dtype) + "', 'fortran_order': False, 'shape': " +
                       shape_literal(shape) + ", }";
  const bool v2 = header.size() + 1 + 10 > 65535;
  const size_t preamble_len = v2 ? 12 : 10;
  const size_t total = (preamble_len + header.size() + 1 + 63) / 64 * 64;
  header.append(total - preamble_len - header.size() - 1, ' ');
  header += '\n';
  std::string preamble(kMagic, kMagicLen);
  preamble += static_cast<char>(v2 ? 2 : 1);
  preamble += '\0';
  const uint64_t len = header.size();
  for (size_t i = 0; i < (v2 ? 4u : 2u); ++i) preamble += static_cast<char>((len >> (8 * i)) & 0xFF);
  return preamble + header;
}

}  // namespace

NpyWriter::NpyWriter(const std::string& path, NpyDtype dtype, const std::vector<int64_t>& shape,
                     bool sync)
    : file_(path, sync), dtype_(dtype), remaining_(1) {
  for (int64_t d : shape) remaining_ *= d;
  file_.append(npy_preamble_and_header(dtype, shape));
}

void NpyWriter::append(const void* data, int64_t elements) {
  if (elements < 0 || elements > remaining_)
    throw std::logic_error("NpyWriter: more elements appended than the shape holds");
  file_.append(std::string_view(static_cast<const char*>(data),
                                static_cast<size_t>(elements * npy_dtype_size(dtype_))));
  remaining_ -= elements;
}

void NpyWriter::commit() {
  if (remaining_ != 0)
    throw std::logic_error("NpyWriter: commit before every element was appended");
  file_.commit();
}

void write_npy(const std::string& path, NpyDtype dtype, const std::vector<int64_t>& shape,
               const void* data) {
  NpyWriter out(path, dtype, shape);
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  out.append(data, numel);
  out.commit();
}

}  // namespace bnrecal
