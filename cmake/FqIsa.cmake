# Generates the two views of the instruction word from its field table (rtl/fq_isa.def):
# rtl/fq_isa.vh (Verilog `define's) and sim/rtl/fq_isa.h (C++ encoder and decoder).
# Script mode, CMake only (no other tool at build time):
#   cmake -DFQ_ISA_DEF=rtl/fq_isa.def -DFQ_ISA_VH=OUT.vh -DFQ_ISA_H=OUT.h -P cmake/FqIsa.cmake
# With -DFQ_ISA_CHECK_VH=FILE -DFQ_ISA_CHECK_H=FILE it compares its outputs with those files
# instead and fails, naming the stale one, when they differ (ctest rtl.isa_generated).
# Both outputs are checked in (docs/rtl.md says why) and written by the `fq_isa` target.
cmake_minimum_required(VERSION 3.20)

function(fq_isa_fail line msg)
  message(FATAL_ERROR "${FQ_ISA_DEF}:${line}: ${msg}")
endfunction()

file(STRINGS "${FQ_ISA_DEF}" lines)
set(word_bits "")
set(units "")
set(opcodes "")
set(fields "")
set(lineno 0)
foreach(raw IN LISTS lines)
  math(EXPR lineno "${lineno} + 1")
  string(REGEX REPLACE "#.*$" "" l "${raw}")
  string(STRIP "${l}" l)
  if(l STREQUAL "")
    continue()
  endif()
  string(FIND "${l}" "\"" quote)
  string(FIND "${l}" "\\" backslash)
  if(quote GREATER -1 OR backslash GREATER -1)
    fq_isa_fail(${lineno} "quotes and backslashes are not allowed (the text goes into C++ strings)")
  endif()
  if(l MATCHES "^word +([0-9]+)$")
    set(word_bits ${CMAKE_MATCH_1})
    math(EXPR rem "${word_bits} % 32")
    if(NOT rem EQUAL 0 OR word_bits EQUAL 0)
      fq_isa_fail(${lineno} "the word width must be a positive multiple of 32, got ${word_bits}")
    endif()
  elseif(l MATCHES "^unit +([a-z][a-z_0-9]*) +([0-9]+)$")
    if(CMAKE_MATCH_1 STREQUAL "all" OR DEFINED unit_${CMAKE_MATCH_1})
      fq_isa_fail(${lineno} "unit '${CMAKE_MATCH_1}' is reserved or defined twice")
    endif()
    set(unit_${CMAKE_MATCH_1} ${CMAKE_MATCH_2})
    list(APPEND units ${CMAKE_MATCH_1})
  elseif(l MATCHES "^opcode +([a-z][a-z_.0-9]*) +([0-9]+) +([a-z][a-z_0-9]*)$")
    if(NOT DEFINED unit_${CMAKE_MATCH_3})
      fq_isa_fail(${lineno} "opcode '${CMAKE_MATCH_1}': unknown unit '${CMAKE_MATCH_3}'")
    endif()
    if(DEFINED op_${CMAKE_MATCH_1})
      fq_isa_fail(${lineno} "opcode '${CMAKE_MATCH_1}' is defined twice")
    endif()
    set(op_${CMAKE_MATCH_1} ${CMAKE_MATCH_2})
    set(opunit_${CMAKE_MATCH_1} ${CMAKE_MATCH_3})
    list(APPEND opcodes ${CMAKE_MATCH_1})
  elseif(l MATCHES "^field +([a-z][a-z_0-9]*) +([a-z][a-z_0-9]*) +([0-9]+) +([0-9]+) +(.+)$")
    set(u ${CMAKE_MATCH_1})
    set(f ${CMAKE_MATCH_2})
    set(lsb ${CMAKE_MATCH_3})
    set(width ${CMAKE_MATCH_4})
    set(text "${CMAKE_MATCH_5}")
    if(word_bits STREQUAL "")
      fq_isa_fail(${lineno} "a field before the `word` line")
    endif()
    if(NOT u STREQUAL "all" AND NOT DEFINED unit_${u})
      fq_isa_fail(${lineno} "field '${f}': unknown unit '${u}'")
    endif()
    if(width LESS 1 OR width GREATER 64)
      fq_isa_fail(${lineno} "field '${u}.${f}': width ${width} is not 1..64")
    endif()
    math(EXPR end "${lsb} + ${width}")
    if(end GREATER word_bits)
      fq_isa_fail(${lineno} "field '${u}.${f}': bits ${lsb}..${end} exceed the ${word_bits}-bit word")
    endif()
    # No two fields of one unit's word (its own and the common ones) may share a name or a bit.
    foreach(g IN LISTS fields)
      if(NOT (fu_${g} STREQUAL u OR fu_${g} STREQUAL "all" OR u STREQUAL "all"))
        continue()
      endif()
      if(fn_${g} STREQUAL f)
        fq_isa_fail(${lineno} "field '${u}.${f}' is defined twice for one unit")
      endif()
      math(EXPR gend "${fl_${g}} + ${fw_${g}}")
      if(lsb LESS gend AND fl_${g} LESS end)
        fq_isa_fail(${lineno} "field '${u}.${f}' overlaps '${fu_${g}}.${fn_${g}}'")
      endif()
    endforeach()
    set(id ${u}__${f})
    set(fu_${id} ${u})
    set(fn_${id} ${f})
    set(fl_${id} ${lsb})
    set(fw_${id} ${width})
    set(ft_${id} "${text}")
    list(APPEND fields ${id})
  else()
    fq_isa_fail(${lineno} "expected `word BITS`, `unit NAME INDEX`, `opcode NAME VALUE UNIT` or `field UNIT NAME LSB WIDTH TEXT`: '${l}'")
  endif()
endforeach()
if(word_bits STREQUAL "" OR units STREQUAL "" OR opcodes STREQUAL "" OR NOT DEFINED fu_all__opcode)
  message(FATAL_ERROR "${FQ_ISA_DEF}: needs a `word` line, units, opcodes and the field `all opcode`")
endif()
set(opw ${fw_all__opcode})
math(EXPR words32 "${word_bits} / 32")
math(EXPR opmax "(1 << ${opw}) - 1")
foreach(o IN LISTS opcodes)
  if(op_${o} GREATER opmax)
    message(FATAL_ERROR "${FQ_ISA_DEF}: opcode '${o}' = ${op_${o}} does not fit the ${opw}-bit opcode field")
  endif()
endforeach()

# Distinct field names, in table order: the members of the C++ Instr.
set(names "")
foreach(id IN LISTS fields)
  list(APPEND names ${fn_${id}})
endforeach()
list(REMOVE_DUPLICATES names)

function(fq_isa_upper out s)
  string(TOUPPER "${s}" s)
  string(REPLACE "." "_" s "${s}")
  set(${out} "${s}" PARENT_SCOPE)
endfunction()

# dma.load -> DmaLoad: the C++ constant names.
function(fq_isa_camel out s)
  string(REGEX REPLACE "[._]" ";" parts "${s}")
  set(camel "")
  foreach(p IN LISTS parts)
    string(SUBSTRING "${p}" 0 1 first)
    string(SUBSTRING "${p}" 1 -1 rest)
    string(TOUPPER "${first}" first)
    string(APPEND camel "${first}${rest}")
  endforeach()
  set(${out} "${camel}" PARENT_SCOPE)
endfunction()

set(banner "Generated from rtl/fq_isa.def by cmake/FqIsa.cmake (cmake --build build --target fq_isa): do not edit.")

# ---- Verilog ----
set(vh "// ${banner}\n")
string(APPEND vh "// The instruction word's fields as `define's: FQ_ISA_<UNIT>_<FIELD>(w) is the field's slice of\n")
string(APPEND vh "// word w, _LSB and _W its position; FQ_ISA_OP_<NAME> the opcodes, sized as the opcode field.\n")
string(APPEND vh "`ifndef FQ_ISA_VH\n`define FQ_ISA_VH\n\n`define FQ_ISA_WORD_BITS ${word_bits}\n")
foreach(u IN LISTS units)
  fq_isa_upper(U ${u})
  string(APPEND vh "`define FQ_ISA_UNIT_${U} ${unit_${u}}\n")
endforeach()
foreach(o IN LISTS opcodes)
  fq_isa_upper(O ${o})
  string(APPEND vh "`define FQ_ISA_OP_${O} ${opw}'d${op_${o}}\n")
endforeach()
foreach(id IN LISTS fields)
  if(fu_${id} STREQUAL "all")
    set(P "FQ_ISA")
  else()
    fq_isa_upper(U ${fu_${id}})
    set(P "FQ_ISA_${U}")
  endif()
  fq_isa_upper(F ${fn_${id}})
  math(EXPR msb "${fl_${id}} + ${fw_${id}} - 1")
  string(APPEND vh "\n// ${fu_${id}} ${fn_${id}}: ${ft_${id}}\n")
  string(APPEND vh "`define ${P}_${F}_LSB ${fl_${id}}\n`define ${P}_${F}_W ${fw_${id}}\n")
  string(APPEND vh "`define ${P}_${F}(w) w[${msb}:${fl_${id}}]\n")
endforeach()
string(APPEND vh "\n`endif\n")

# ---- C++ ----
set(h "// ${banner}\n")
string(APPEND h [=[
// The instruction word of rtl/fq_top.v as C++: Instr holds every field of any unit, encode() packs
// the fields of the opcode's unit (and the common ones) into the word, decode() reads them back.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace fq::rtl::isa {

]=])
string(APPEND h "inline constexpr int kWordBits = ${word_bits};\n")
string(APPEND h "using Word = std::array<uint32_t, ${words32}>;\n\n")
foreach(u IN LISTS units)
  fq_isa_camel(camel ${u})
  string(APPEND h "inline constexpr int kUnit${camel} = ${unit_${u}};\n")
endforeach()
string(APPEND h "\n")
foreach(o IN LISTS opcodes)
  fq_isa_camel(camel ${o})
  string(APPEND h "inline constexpr uint32_t kOp${camel} = ${op_${o}};  // ${o}, unit ${opunit_${o}}\n")
endforeach()
string(APPEND h "\nstruct Instr {\n")
foreach(n IN LISTS names)
  string(APPEND h "  uint64_t ${n} = 0;\n")
endforeach()
string(APPEND h "\n  bool operator==(const Instr&) const = default;\n};\n\n")
string(APPEND h [=[
struct Field {
  int unit;  // -1: every instruction
  const char* name;
  int lsb, width;
  uint64_t Instr::*member;
  const char* meaning;
};

inline constexpr Field kFields[] = {
]=])
foreach(id IN LISTS fields)
  if(fu_${id} STREQUAL "all")
    set(ui -1)
  else()
    set(ui ${unit_${fu_${id}}})
  endif()
  string(APPEND h "    {${ui}, \"${fn_${id}}\", ${fl_${id}}, ${fw_${id}}, &Instr::${fn_${id}}, \"${ft_${id}}\"},\n")
endforeach()
string(APPEND h "};\n\n// The unit that runs `opcode`, or -1 when the RTL has no such opcode.\n")
string(APPEND h "inline constexpr int unit_of_opcode(uint64_t opcode) {\n  switch (opcode) {\n")
foreach(o IN LISTS opcodes)
  string(APPEND h "    case ${op_${o}}: return ${unit_${opunit_${o}}};  // ${o}\n")
endforeach()
string(APPEND h "    default: return -1;\n  }\n}\n")
string(APPEND h [=[

// The word of `in`; throws when the opcode has no RTL unit or a field's value does not fit.
inline Word encode(const Instr& in) {
  const int unit = unit_of_opcode(in.opcode);
  if (unit < 0) throw std::runtime_error("opcode " + std::to_string(in.opcode) + " has no RTL encoding");
  Word w{};
  for (const Field& f : kFields) {
    if (f.unit != -1 && f.unit != unit) continue;
    const uint64_t v = in.*f.member;
    if (f.width < 64 && (v >> f.width) != 0) {
      throw std::runtime_error(std::string("instruction field ") + f.name + " = " + std::to_string(v) +
                               " does not fit its " + std::to_string(f.width) + " bits");
    }
    for (int b = 0; b < f.width; ++b) {
      if ((v >> b) & 1) w[static_cast<size_t>((f.lsb + b) / 32)] |= uint32_t{1} << ((f.lsb + b) % 32);
    }
  }
  return w;
}

// The fields of the word's unit (the others 0); throws when the opcode has no RTL unit.
inline Instr decode(const Word& w) {
  auto get = [&](const Field& f) {
    uint64_t v = 0;
    for (int b = 0; b < f.width; ++b) v |= uint64_t{(w[static_cast<size_t>((f.lsb + b) / 32)] >> ((f.lsb + b) % 32)) & 1U} << b;
    return v;
  };
  Instr in;
  for (const Field& f : kFields) {
    if (f.unit == -1) in.*f.member = get(f);
  }
  const int unit = unit_of_opcode(in.opcode);
  if (unit < 0) throw std::runtime_error("opcode " + std::to_string(in.opcode) + " has no RTL encoding");
  for (const Field& f : kFields) {
    if (f.unit == unit) in.*f.member = get(f);
  }
  return in;
}

}  // namespace fq::rtl::isa
]=])

# Check mode compares with FQ_ISA_CHECK_*; otherwise an output is written only when it changed,
# so a regeneration without a table change rebuilds nothing.
set(prefix FQ_ISA)
if(DEFINED FQ_ISA_CHECK_VH)
  set(prefix FQ_ISA_CHECK)
endif()
set(stale "")
foreach(kind vh h)
  string(TOUPPER "${kind}" K)
  set(file "${${prefix}_${K}}")
  set(have "")
  if(EXISTS "${file}")
    file(READ "${file}" have)
  endif()
  if(NOT have STREQUAL "${${kind}}")
    list(APPEND stale "${file}")
    if(prefix STREQUAL "FQ_ISA")
      file(WRITE "${file}" "${${kind}}")
    endif()
  endif()
endforeach()
if(prefix STREQUAL "FQ_ISA_CHECK")
  if(stale)
    message(FATAL_ERROR "stale (not generated from ${FQ_ISA_DEF}): ${stale}; run `cmake --build BUILD --target fq_isa`")
  endif()
  message(STATUS "rtl/fq_isa.vh and sim/rtl/fq_isa.h are current with ${FQ_ISA_DEF}")
endif()
