# cmake -DFQ_REAL_CONFIG=<build>/model/fq_core.layering.cmake -DFQ_FIXTURE=<file> -DFQ_CHECK=<FqCheckIncludes.cmake>
#       -DFQ_WORK=<dir> -P check_rejects.cmake
# The layering check of fq_core, with its real rule, on its real files plus a fixture that
# includes sim/engine.h: it must fail and name the fixture and the include; without the fixture
# it must pass.
include(${FQ_REAL_CONFIG})
file(MAKE_DIRECTORY ${FQ_WORK})
foreach(variant clean upward)
  set(files "${FQ_FILES}")
  if(variant STREQUAL "upward")
    list(APPEND files ${FQ_FIXTURE})
  endif()
  file(WRITE ${FQ_WORK}/${variant}.cmake "set(FQ_TARGET ${FQ_TARGET})\nset(FQ_ALLOWED \"${FQ_ALLOWED}\")\n"
       "set(FQ_FILES \"${files}\")\nset(FQ_SOURCE_ROOT \"${FQ_SOURCE_ROOT}\")\nset(FQ_STAMP \"${FQ_WORK}/${variant}.stamp\")\n")
  execute_process(COMMAND ${CMAKE_COMMAND} -DFQ_CONFIG=${FQ_WORK}/${variant}.cmake -P ${FQ_CHECK}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(variant STREQUAL "clean" AND NOT rc EQUAL 0)
    message(FATAL_ERROR "fq_core's own files fail the check:\n${err}")
  endif()
  if(variant STREQUAL "upward")
    if(rc EQUAL 0)
      message(FATAL_ERROR "an include of sim/engine.h from fq_core passed the layering check")
    endif()
    string(REGEX REPLACE "[ \n]+" " " flat "${err}")  # CMake wraps its messages
    if(NOT flat MATCHES "tests/layering/upward_include.h: #include \"sim/engine.h\": fq_core may include only model/core")
      message(FATAL_ERROR "the check failed without naming the file and the include:\n${err}")
    endif()
    message(STATUS "rejected as expected:\n${err}")
  endif()
endforeach()
