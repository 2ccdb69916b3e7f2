# cmake --install: commands in bin/, libraries and the CMake package fqsim in lib/, headers in
# include/fqsim/, presets, cost tables, workloads and the RTL (the RTL engine Verilates runners
# from it) in share/fqsim/. Installed commands find their data there (model/core/data_dir.h).
include(CMakePackageConfigHelpers)

get_property(fq_libraries GLOBAL PROPERTY FQ_LIBRARIES)
get_property(fq_commands GLOBAL PROPERTY FQ_COMMANDS)
foreach(lib ${fq_libraries})
  string(REGEX REPLACE "^fq_" "" export_name ${lib})
  set_target_properties(${lib} PROPERTIES EXPORT_NAME ${export_name})
endforeach()
set_target_properties(fq_model PROPERTIES EXPORT_NAME model)

install(TARGETS ${fq_libraries} fq_model EXPORT fqsimTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/fqsim)
install(TARGETS ${fq_commands} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY model compiler sim DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/fqsim
        FILES_MATCHING PATTERN "*.h" PATTERN "apps" EXCLUDE)

set(fq_share ${CMAKE_INSTALL_DATADIR}/fqsim)
install(DIRECTORY configs traces rtl DESTINATION ${fq_share})
install(FILES sim/rtl/rtl_runner_main.cpp sim/rtl/top_harness.h sim/rtl/rtl_harness.h sim/rtl/fq_isa.h
        DESTINATION ${fq_share}/sim/rtl)

install(EXPORT fqsimTargets NAMESPACE fqsim:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fqsim)
configure_package_config_file(cmake/fqsimConfig.cmake.in ${CMAKE_BINARY_DIR}/fqsimConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fqsim)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/fqsimConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/fqsimConfig.cmake ${CMAKE_BINARY_DIR}/fqsimConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fqsim)
