// The .q layer file (docs/formats.md): named quantized tensors, little-endian, versioned, with a
// CRC-32 over the header, the directory and every data section.
// Contract: readers validate every length against the file before allocating and name the file,
// byte offset and field in every fq::Error; a writer writes temp_path_for(path) (atomic_file.h)
// and renames it only in finish(), so no partial file ever exists under the final name.
#pragma once

#include "model/quant/encoded_matrix.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace fq {

inline constexpr uint16_t kQFileMajor = 1;
inline constexpr uint16_t kQFileMinor = 0;

struct QTensorInfo {
  std::string name;
  std::string method;
  std::map<std::string, std::string> params;
  HwFormat format = HwFormat::kFineqR;
  int rows = 0, cols = 0, cols_padded = 0, group_size = 0;
  uint64_t codes_offset = 0, code_bytes = 0;
  uint64_t scales_offset = 0, scale_count = 0;
  uint32_t codes_crc = 0, scales_crc = 0;
};

// Streams tensors into a .q file one at a time (a 7B layer never has to sit in memory at once).
class QFileWriter {
 public:
  explicit QFileWriter(std::filesystem::path path);
  ~QFileWriter();  // removes the temporary file unless finish() succeeded
  QFileWriter(const QFileWriter&) = delete;
  QFileWriter& operator=(const QFileWriter&) = delete;

  void add(const QTensor& tensor);  // validates the matrix; rejects duplicate names
  void finish();                    // writes the directory and footer, then renames

 private:
  void write(const void* data, uint64_t bytes);
  void align();
  std::filesystem::path m_path, m_tmp;
  std::ofstream m_out;
  uint64_t m_offset = 0;
  std::vector<QTensorInfo> m_entries;
  std::set<std::string> m_names;
  bool m_finished = false;
};

void write_qfile(const std::filesystem::path& path, const std::vector<QTensor>& tensors);

std::vector<QTensorInfo> read_qfile_index(const std::filesystem::path& path);  // directory only
QTensor read_qtensor(const std::filesystem::path& path, const std::string& name);
std::vector<QTensor> read_qfile(const std::filesystem::path& path);

}  // namespace fq
