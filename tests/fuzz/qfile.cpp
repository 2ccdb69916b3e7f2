// fuzz_qfile: a .q file is read (index, every tensor, codes decoded) and written back; the same
// bytes with every CRC recomputed are read again, so the parser behind the checksums is searched
// too and not only the CRC comparison. Layout: docs/formats.md.
#include "fuzz/targets.h"

#include "model/core/crc32.h"
#include "model/core/error.h"
#include "model/qfile/qfile.h"

#include <cstring>
#include <vector>

namespace fq::fuzz {
namespace {

uint64_t get(const std::vector<uint8_t>& b, uint64_t at, int bytes) {
  uint64_t v = 0;
  std::memcpy(&v, b.data() + at, static_cast<size_t>(bytes));  // little-endian host
  return v;
}
void put32(std::vector<uint8_t>& b, uint64_t at, uint32_t v) { std::memcpy(b.data() + at, &v, 4); }
uint32_t crc_of(const std::vector<uint8_t>& b, uint64_t at, uint64_t n) {
  return crc32(std::span<const uint8_t>(b.data() + at, static_cast<size_t>(n)));
}
bool fits(uint64_t at, uint64_t n, uint64_t size) { return at <= size && n <= size - at; }

// Recomputes the header CRC, each entry's section CRCs (where the entry's sections lie in the
// file) and the directory CRC, walking the directory as docs/formats.md lays it out. Stops at
// the first field that does not fit; the reader then rejects the rest as it would anyway.
}  // namespace

std::vector<uint8_t> qfile_with_crcs_repaired(std::vector<uint8_t> b) {
  const uint64_t size = b.size();
  if (size < 96) return b;
  const uint64_t foot = size - 32;
  put32(b, foot + 20, crc_of(b, 0, 64));
  const uint64_t dir = get(b, foot, 8), dir_bytes = get(b, foot + 8, 8);
  if (dir < 64 || dir > foot || dir_bytes != foot - dir) return b;
  uint64_t pos = dir;
  const uint64_t end = foot;
  auto skip_text = [&] {
    if (!fits(pos, 2, end)) return false;
    pos += 2 + get(b, pos, 2);
    return pos <= end;
  };
  if (fits(pos, 4, end)) {
    const uint64_t count = get(b, pos, 4);
    pos += 4;
    for (uint64_t t = 0; t < count; ++t) {
      if (!skip_text() || !skip_text() || !fits(pos, 2, end)) break;
      const uint64_t params = get(b, pos, 2);
      pos += 2;
      bool ok = true;
      for (uint64_t p = 0; p < params && ok; ++p) ok = skip_text() && skip_text();
      if (!ok || !fits(pos, 4 + 16 + 32 + 8, end)) break;
      pos += 4 + 16;
      const uint64_t codes = get(b, pos, 8), code_bytes = get(b, pos + 8, 8);
      const uint64_t scales = get(b, pos + 16, 8), scale_count = get(b, pos + 24, 8);
      pos += 32;
      if (fits(codes, code_bytes, size)) put32(b, pos, crc_of(b, codes, code_bytes));
      if (scale_count <= size && fits(scales, 2 * scale_count, size)) put32(b, pos + 4, crc_of(b, scales, 2 * scale_count));
      pos += 8;
    }
  }
  put32(b, foot + 16, crc_of(b, dir, dir_bytes));
  return b;
}

namespace {

void same(const QTensor& a, const QTensor& b) {
  const auto &x = a.matrix, &y = b.matrix;
  if (a.name != b.name || a.method != b.method || a.params != b.params || x.format != y.format || x.rows != y.rows ||
      x.cols != y.cols || x.cols_padded != y.cols_padded || x.group_size != y.group_size || x.codes != y.codes ||
      x.scales != y.scales) {
    broken("tensor '" + a.name + "' changed in a write/read round trip");
  }
}

void run(const std::vector<uint8_t>& bytes) {
  const auto path = as_file(bytes, ".in.q");
  std::vector<QTensor> tensors;
  try {
    const auto index = read_qfile_index(path);
    tensors = read_qfile(path);
    if (tensors.size() != index.size()) broken("read_qfile and read_qfile_index disagree on the tensor count");
  } catch (const Error&) {
    return;
  }
  // The first consumer: every code decoded (inspect --codes, the compiler and the engines).
  for (const auto& t : tensors) {
    const auto q = decode_all(t.matrix);
    if (q.size() != static_cast<size_t>(t.matrix.rows) * static_cast<size_t>(t.matrix.cols)) {
      broken("decode_all of '" + t.name + "' returned the wrong number of weights");
    }
  }
  // Anything the reader accepts, the writer writes back and the reader reads back unchanged.
  const auto out = scratch_path(".out.q");
  write_qfile(out, tensors);
  const auto again = read_qfile(out);
  if (again.size() != tensors.size()) broken("tensor count changed in a write/read round trip");
  for (size_t i = 0; i < again.size(); ++i) same(tensors[i], again[i]);
}

}  // namespace

int qfile(const uint8_t* data, size_t size) { return run_raw_and_repaired(data, size, run, qfile_with_crcs_repaired); }

}  // namespace fq::fuzz
