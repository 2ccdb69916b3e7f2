// The .tir text form of a TileProgram: line oriented, exact round trip (docs/isa.md "Text form").
// Contract: for every program p whose names are tokens, whose fingerprint is 16 lowercase hex
// digits and whose unused fields are zero, parse_tir_text(to_tir_text(p)) == p and printing
// that again gives the same bytes. The parser checks syntax and field ranges only; semantic
// rules (deps, bounds, hazards) belong to check()/verify(). Errors are fq::Error
// "<origin>:<line>: <what>: '<token>'".
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>
#include <string_view>

#include "model/ir/tile_program.h"

namespace fq::ir {

// Streams the canonical text; throws fq::Error if the program cannot be printed (a name that is
// not a token, a malformed fingerprint, an invalid opcode or buffer value, an unknown version).
void print_tir(const TileProgram& program, std::ostream& out);
std::string to_tir_text(const TileProgram& program);
// The text line of one op (no newline), as print_tir() writes it: for messages about that op.
std::string tir_op_line(const TileProgram& program, OpId id);
// Writes a temporary file, then renames it to `path` (write_file_atomically).
void write_tir(const TileProgram& program, const std::filesystem::path& path);

// `origin` names the source in error messages (a file name).
TileProgram parse_tir(std::istream& in, const std::string& origin);
TileProgram parse_tir_text(std::string_view text, const std::string& origin);
TileProgram read_tir(const std::filesystem::path& path);

}  // namespace fq::ir
