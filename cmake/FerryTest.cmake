# ferry_unit_test(NAME module SOURCES ... LIBS ...)
include(GoogleTest)
function(ferry_unit_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${T_NAME} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
  ferry_tsan_label(${T_NAME})
endfunction()

# ferry_unit_tests(MODULE m TESTS stem... LIBS ...): each tests/unit/<m>/<stem>_test.cpp
# becomes its own executable test_<m>_<stem>, so modules shared by several people never
# share a test binary. The list is explicit: a missing file fails the configure.
function(ferry_unit_tests)
  cmake_parse_arguments(T "" "MODULE" "TESTS;LIBS" ${ARGN})
  foreach(stem ${T_TESTS})
    ferry_unit_test(NAME test_${T_MODULE}_${stem} SOURCES ${stem}_test.cpp LIBS ${T_LIBS})
  endforeach()
endfunction()

# `make tsan` runs ctest -L tsan. The tests that exercise data-plane threads
# carry the label tsan besides unit: every test built from a tsan_*_test.cpp
# (test_<m>_tsan_<x>) and the multi-threaded tests listed in FERRY_TSAN_TESTS.
# gtest_discover_tests cannot pass a label list through PROPERTIES (CMake 3.25
# splits it), so a ctest include file that runs after the discovered tests'
# include sets both labels on the test list it defined (<target>_TESTS).
set(FERRY_TSAN_TESTS test_tunnel_keypair test_tunnel_replay test_tunnel_tunnel test_tunnel_hostile_learned
    test_ipsec_esp_replay)
function(ferry_tsan_label name)
  if(NOT (name MATCHES "^test_[a-z]+_tsan_" OR name IN_LIST FERRY_TSAN_TESTS))
    return()
  endif()
  set(f ${CMAKE_CURRENT_BINARY_DIR}/${name}_tsan_label.cmake)
  set(env "")
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/tsan_suppressions.txt)
    # Appended to whatever TSAN_OPTIONS the caller set (make tsan: halt_on_error=1).
    set(env " ENVIRONMENT_MODIFICATION \"TSAN_OPTIONS=string_append: suppressions=${CMAKE_CURRENT_SOURCE_DIR}/tsan_suppressions.txt\"")
  endif()
  file(WRITE ${f} "if(DEFINED ${name}_TESTS)\n"
                  "  set_tests_properties(\${${name}_TESTS} PROPERTIES LABELS \"unit;tsan\"${env})\n"
                  "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${f})
endfunction()
