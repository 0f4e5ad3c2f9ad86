#include "bnrecal/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/core/input_limits.h"

namespace bnrecal {

namespace {

constexpr uint8_t kUnsignedByte = 0x08;

// gzread reads gzip and plain files alike, so one code path serves both.
class GzFile {
 public:
  explicit GzFile(const std::string& path, const char* mode) : file_(gzopen(path.c_str(), mode)) {}
  ~GzFile() {
    if (file_) gzclose(file_);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;
  gzFile get() const { return file_; }

 private:
  gzFile file_;
};

// Reads up to n bytes; returns the count read, throws on a decompression error (corrupt .gz).
size_t read_some(gzFile f, void* out, size_t n, const std::string& path) {
  size_t total = 0;
  auto* dst = static_cast<char*>(out);
  while (total < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - total, 1u << 30));
    const int got = gzread(f, dst + total, chunk);
    if (got < 0) {
      int errnum = 0;
      const char* msg = gzerror(f, &errnum);
      throw InputError("'" + path + "' is corrupt: " + (msg ? msg : "gzip read error"));
    }
    if (got == 0) break;
    total += static_cast<size_t>(got);
  }
  return total;
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  if (!file_exists(path)) throw InputError("'" + path + "' does not exist");
  GzFile file(path, "rb");
  if (!file.get()) throw InputError("cannot open '" + path + "'");

  uint8_t magic[4];
  if (read_some(file.get(), magic, 4, path) != 4)
    throw InputError("'" + path + "' is not an IDX file: shorter than its 4-byte magic number");
  if (magic[0] != 0 || magic[1] != 0 || magic[3] < 1 || magic[3] > 4)
    throw InputError("'" + path + "' is not an IDX file: wrong magic number");
  if (magic[2] != kUnsignedByte)
    throw InputError("'" + path + "': unsupported IDX element type 0x" +
                     [&] { char b[3]; std::snprintf(b, 3, "%02x", magic[2]); return std::string(b); }() +
                     " (only unsigned bytes, 0x08, are supported)");

  IdxArray array;
  for (int d = 0; d < magic[3]; ++d) {
    uint8_t be[4];
    if (read_some(file.get(), be, 4, path) != 4)
      throw InputError("'" + path + "' is truncated: header ends inside dimension " + std::to_string(d));
    const int64_t dim = (int64_t{be[0]} << 24) | (be[1] << 16) | (be[2] << 8) | be[3];
    if (dim <= 0) throw InputError("'" + path + "': dimension " + std::to_string(d) + " is zero");
    array.dims.push_back(dim);
  }
  const int64_t count = declared_elements(array.dims, "'" + path + "'");
  // The buffer grows with the data actually read, a chunk at a time: a gzip file's header can
  // claim far more than its stream holds, and the file size does not bound the stream.
  constexpr size_t kChunk = size_t{1} << 26;
  size_t got = 0;
  while (got < static_cast<size_t>(count)) {
    const size_t want = std::min(static_cast<size_t>(count) - got, kChunk);
    array.data.resize(got + want);
    const size_t n = read_some(file.get(), array.data.data() + got, want, path);
    got += n;
    if (n < want) break;
  }
  if (got != static_cast<size_t>(count))
    throw InputError("'" + path + "' is truncated: expected " + std::to_string(count) +
                     " data bytes, found " + std::to_string(got));
  uint8_t extra;
  if (read_some(file.get(), &extra, 1, path) != 0)
    throw InputError("'" + path + "' has trailing bytes after the " + std::to_string(count) +
                     " bytes its header announces");
  return array;
}

void write_idx(const std::string& path, const IdxArray& array) {
  std::string bytes = {0, 0, static_cast<char>(kUnsignedByte), static_cast<char>(array.dims.size())};
  for (int64_t dim : array.dims)
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>((dim >> shift) & 0xff));
  bytes.append(reinterpret_cast<const char*>(array.data.data()), array.data.size());
  const bool gzip = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  if (!gzip) {
    write_file_atomic(path, bytes);
    return;
  }
  uLongf bound = compressBound(bytes.size()) + 64;
  // A gzip stream (not zlib's): deflateInit2 with windowBits 15 + 16.
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  std::string out(bound, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(bytes.data());
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip compression failed");
  write_file_atomic(path, out);
}

}  // namespace bnrecal
