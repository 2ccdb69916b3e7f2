# The layering of fqsim's libraries, enforced by the build (docs/architecture.md "Layers").
#
# fq_library(<target> FOLDERS <dir>... | FILES <file>... [EXCLUDE <regex>] [DEPS <target>...] [LIBS <lib>...])
#   A static library of the .cpp files of the folders (or of FILES, sources and headers of the
#   current folder, for a library that shares its folder) (not recursive; `apps/` are commands). It
#   links DEPS and nothing else, and it may include the headers of its own folders and of the
#   folders of DEPS (transitively), nothing more: a build step scans every .cpp and .h the target
#   owns and fails the build on any other project include (an upward or sideways one), naming
#   the file and the include. Links enforce the same rule for symbols.
# fq_command(<name> SOURCES <file>... DEPS <target>...)
#   A command (leaf): an executable whose includes are checked the same way.
#
# The project's include root is the source tree ("model/core/error.h"), so the compiler alone
# cannot forbid an include; the scan can.

set(FQ_LAYER_CHECK ${CMAKE_CURRENT_LIST_DIR}/FqCheckIncludes.cmake)

# Folders of DEPS and of their dependencies.
function(_fq_allowed_folders out)
  set(allowed "")
  foreach(dep ${ARGN})
    if(TARGET ${dep})
      get_target_property(folders ${dep} FQ_ALLOWED_FOLDERS)
      if(folders)
        list(APPEND allowed ${folders})
      endif()
    endif()
  endforeach()
  list(REMOVE_DUPLICATES allowed)
  set(${out} "${allowed}" PARENT_SCOPE)
endfunction()

# The build step that scans `files` of `target` against `allowed`.
function(_fq_layer_check target files allowed)
  set(config ${CMAKE_CURRENT_BINARY_DIR}/${target}.layering.cmake)
  set(stamp ${CMAKE_CURRENT_BINARY_DIR}/${target}.layering.stamp)
  file(WRITE ${config} "set(FQ_TARGET ${target})\nset(FQ_ALLOWED \"${allowed}\")\nset(FQ_FILES \"${files}\")\n"
       "set(FQ_SOURCE_ROOT \"${CMAKE_SOURCE_DIR}\")\nset(FQ_STAMP \"${stamp}\")\n")
  add_custom_command(OUTPUT ${stamp}
    COMMAND ${CMAKE_COMMAND} -DFQ_CONFIG=${config} -P ${FQ_LAYER_CHECK}
    DEPENDS ${files} ${config} ${FQ_LAYER_CHECK}
    COMMENT "Checking the includes of ${target} against its layer" VERBATIM)
  add_custom_target(${target}_layering DEPENDS ${stamp})
  add_dependencies(${target} ${target}_layering)
endfunction()

function(fq_library target)
  cmake_parse_arguments(L "" "EXCLUDE" "FOLDERS;FILES;DEPS;LIBS" ${ARGN})
  set(sources "")
  set(owned "")
  foreach(f ${L_FILES})
    get_filename_component(f ${f} ABSOLUTE)
    list(APPEND owned ${f})
    if(f MATCHES "\\.cpp$")
      list(APPEND sources ${f})
    endif()
  endforeach()
  if(L_FILES)  # FILES are of the current folder: its headers may be included
    file(RELATIVE_PATH L_FOLDERS_OF_FILES ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  foreach(folder ${L_FOLDERS})
    file(GLOB cpp CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/${folder}/*.cpp)
    file(GLOB hdr CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/${folder}/*.h)
    list(APPEND sources ${cpp})
    list(APPEND owned ${cpp} ${hdr})
  endforeach()
  if(L_EXCLUDE)
    list(FILTER sources EXCLUDE REGEX "${L_EXCLUDE}")
    list(FILTER owned EXCLUDE REGEX "${L_EXCLUDE}")
  endif()
  add_library(${target} STATIC ${sources})
  target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}>
                             $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/fqsim>)
  target_link_libraries(${target} PUBLIC ${L_DEPS} ${L_LIBS})
  # Warnings and sanitizers reach everything built here that links the library (tests, benches),
  # and nothing that links an installed one.
  target_link_libraries(${target} PUBLIC $<BUILD_INTERFACE:fq_project_options>)
  _fq_allowed_folders(allowed ${L_DEPS})
  list(APPEND allowed ${L_FOLDERS} ${L_FOLDERS_OF_FILES})
  list(REMOVE_DUPLICATES allowed)
  set_target_properties(${target} PROPERTIES FQ_ALLOWED_FOLDERS "${allowed}" FQ_OWNED_FILES "${owned}")
  _fq_layer_check(${target} "${owned}" "${allowed}")
  set_property(GLOBAL APPEND PROPERTY FQ_LIBRARIES ${target})
endfunction()

function(fq_command name)
  cmake_parse_arguments(C "" "" "SOURCES;DEPS" ${ARGN})
  list(TRANSFORM C_SOURCES PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/)
  add_executable(${name} ${C_SOURCES})
  target_link_libraries(${name} PRIVATE ${C_DEPS} fq_project_options)
  get_filename_component(folder ${CMAKE_CURRENT_SOURCE_DIR} ABSOLUTE)
  file(RELATIVE_PATH folder ${CMAKE_SOURCE_DIR} ${folder})
  _fq_allowed_folders(allowed ${C_DEPS})
  list(APPEND allowed ${folder}/apps)
  _fq_layer_check(${name} "${C_SOURCES}" "${allowed}")
  set_property(GLOBAL APPEND PROPERTY FQ_COMMANDS ${name})
endfunction()
