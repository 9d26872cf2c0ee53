# The library as users get it: libbcl.so and libbcl.a (every stage in one, only the
# C API global), libbclrt.a for AOT objects, install rules, a CMake package
# (find_package(bcl CONFIG) -> bcl::bcl, bcl::bcl_static, bcl::bclrt), pkg-config
# files, man pages generated from --help, a Debian package (cpack -G DEB), and the
# tests that use the installed tree from outside. Included at the end of
# CMakeLists.txt, after every target exists.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Every object of the compiler, in link order (the JIT when it is built).
set(bcl_stage_libs bcl_api bcl_frontend bcl_passes bcl_interp bcl_io ${bcl_llvm_lib} bcl_ir bcl_support bclrt)
set(bcl_stage_objects)
foreach(lib ${bcl_stage_libs})
  list(APPEND bcl_stage_objects $<TARGET_OBJECTS:${lib}>)
endforeach()

# What a program linking the library (static) also needs; the shared library
# records these itself.
set(bcl_dep_libs)
set(bcl_dep_pc)
if(TARGET bcl_llvm)
  get_target_property(bcl_llvm_location LLVM LOCATION)
  list(APPEND bcl_dep_libs ${bcl_llvm_location})
  set(bcl_dep_pc "-L${LLVM_LIBRARY_DIR} -lLLVM")
endif()
if(TARGET ZLIB::ZLIB)                   # io/: inflate and CRC-32
  list(APPEND bcl_dep_libs ${ZLIB_LIBRARIES})
  set(bcl_dep_pc "${bcl_dep_pc} -lz")
endif()
if(TARGET JPEG::JPEG AND TARGET PNG::PNG)  # io/: image decoding
  list(APPEND bcl_dep_libs ${JPEG_LIBRARIES} ${PNG_LIBRARIES})
  set(bcl_dep_pc "${bcl_dep_pc} -ljpeg -lpng")
endif()
if(WEBP_FOUND)                          # io/image_webp.c
  list(APPEND bcl_dep_libs ${WEBP_LINK_LIBRARIES})
  set(bcl_dep_pc "${bcl_dep_pc} -lwebp")
endif()
set(bcl_dep_pc "${bcl_dep_pc} -lpthread -lm")

# --- libbcl.so: the same objects as the tools link, exported through a version
# script that names the API (bcl_*), everything else local
add_library(bcl SHARED ${bcl_stage_objects})
set_target_properties(bcl PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
                                     LINK_DEPENDS ${CMAKE_SOURCE_DIR}/cmake/libbcl.map)
target_include_directories(bcl PUBLIC $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>)
target_link_libraries(bcl PRIVATE ${bcl_dep_libs} Threads::Threads m)
target_link_options(bcl PRIVATE -Wl,--version-script=${CMAKE_SOURCE_DIR}/cmake/libbcl.map)
# every symbol resolved at link time, except in the fuzz build: clang links its
# sanitizer and coverage runtimes into executables only, and a shared library built
# with them takes those symbols from the executable that loads it
if(NOT BCL_FUZZ)
  target_link_options(bcl PRIVATE -Wl,--no-undefined)
endif()
add_dependencies(bcl ${bcl_stage_libs})

# --- libbcl.a: one relocatable object (ld -r) of all stages with the hidden
# symbols made local, so a static link sees only the API and cannot clash with the
# program's own `iterate` or `arena_alloc`
set(bcl_static_dir ${CMAKE_BINARY_DIR}/libbcl_static)
set(bcl_static_lib ${CMAKE_BINARY_DIR}/libbcl.a)
add_custom_command(
  OUTPUT ${bcl_static_lib}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${bcl_static_dir}
  COMMAND ${CMAKE_LINKER} -r -o ${bcl_static_dir}/bcl.o ${bcl_stage_objects}
  COMMAND ${CMAKE_OBJCOPY} --localize-hidden ${bcl_static_dir}/bcl.o
  COMMAND ${CMAKE_COMMAND} -E rm -f ${bcl_static_lib}
  COMMAND ${CMAKE_AR} rcs ${bcl_static_lib} ${bcl_static_dir}/bcl.o
  DEPENDS ${bcl_stage_libs} ${bcl_stage_objects}
  COMMAND_EXPAND_LISTS
  COMMENT "libbcl.a: all stages in one object, internal symbols local")
add_custom_target(bcl_static ALL DEPENDS ${bcl_static_lib})

# --- man pages from the tools' --help (cmake/help_to_man.cmake)
set(bcl_man_dir ${CMAKE_BINARY_DIR}/man)
add_custom_command(
  OUTPUT ${bcl_man_dir}/bclc.1 ${bcl_man_dir}/bcl-opt.1
  COMMAND ${CMAKE_COMMAND} -DTOOL=$<TARGET_FILE:bclc> -DNAME=bclc -DSUBCOMMANDS=ON
          -DVERSION=${PROJECT_VERSION} -DOUT=${bcl_man_dir}/bclc.1 -P ${CMAKE_SOURCE_DIR}/cmake/help_to_man.cmake
  COMMAND ${CMAKE_COMMAND} -DTOOL=$<TARGET_FILE:bcl-opt> -DNAME=bcl-opt -DSUBCOMMANDS=OFF
          -DVERSION=${PROJECT_VERSION} -DOUT=${bcl_man_dir}/bcl-opt.1 -P ${CMAKE_SOURCE_DIR}/cmake/help_to_man.cmake
  DEPENDS bclc bcl-opt ${CMAKE_SOURCE_DIR}/cmake/help_to_man.cmake
  COMMENT "man pages from --help")
add_custom_target(bcl_man ALL DEPENDS ${bcl_man_dir}/bclc.1 ${bcl_man_dir}/bcl-opt.1)

# --- pkg-config and CMake package files (relocatable: paths from their own place)
file(RELATIVE_PATH bcl_pc_to_prefix /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
configure_file(${CMAKE_SOURCE_DIR}/cmake/bcl.pc.in ${CMAKE_BINARY_DIR}/pkgconfig/bcl.pc @ONLY)
configure_file(${CMAKE_SOURCE_DIR}/cmake/bclrt.pc.in ${CMAKE_BINARY_DIR}/pkgconfig/bclrt.pc @ONLY)
set(bcl_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/bcl)
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/bclConfig.cmake.in
  ${CMAKE_BINARY_DIR}/cmake/bclConfig.cmake INSTALL_DESTINATION ${bcl_cmake_dir}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/cmake/bclConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)

# --- install
install(TARGETS bclc bcl-opt RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS bcl LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS bclrt ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${bcl_static_lib} DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES include/bcl/bcl.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/bcl)
install(FILES runtime/model.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/bcl RENAME bclrt.h)
install(FILES ${CMAKE_BINARY_DIR}/pkgconfig/bcl.pc ${CMAKE_BINARY_DIR}/pkgconfig/bclrt.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(FILES ${CMAKE_BINARY_DIR}/cmake/bclConfig.cmake ${CMAKE_BINARY_DIR}/cmake/bclConfigVersion.cmake
        DESTINATION ${bcl_cmake_dir})
install(FILES ${bcl_man_dir}/bclc.1 ${bcl_man_dir}/bcl-opt.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")
install(DIRECTORY examples/c_api examples/aot examples/digits DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
if(EXISTS ${CMAKE_SOURCE_DIR}/python/pyproject.toml)
  # the Python package (pure Python over libbcl.so), importable from the prefix's
  # dist-packages; `pip install ./python` is the other way
  install(DIRECTORY python/bclc DESTINATION ${CMAKE_INSTALL_LIBDIR}/python3/dist-packages
          PATTERN "__pycache__" EXCLUDE)
endif()

# --- Debian package: cpack -G DEB (from the build directory)
set(CPACK_PACKAGE_NAME bclc)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "bclc developers <bclc@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Compiler and runtime for BaseCls model files (.bcl)")
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libllvm19, zlib1g, libc6")
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
include(CPack)

# --- tests of the installed tree
if(PYTHON3_SYS AND NOT BCL_SANITIZE)   # sanitizers add symbols of their own (__odr_asan...)
  add_test(NAME exports
           COMMAND ${PYTHON3_SYS} ${CMAKE_SOURCE_DIR}/tests/install/check_exports.py
                   --header ${CMAKE_SOURCE_DIR}/include/bcl/bcl.h
                   --shared $<TARGET_FILE:bcl> --static ${bcl_static_lib})
endif()
# The tests below link or load the library from outside the build (plain cc, CMake
# projects, Python): a sanitized library needs its runtime first in those programs,
# so they run in the plain build only (.ci/run's first stage).
if(NOT BCL_SANITIZE)
add_test(NAME install_tree
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/install/install_tree.sh ${CMAKE_BINARY_DIR}
                 ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/install_test ${CMAKE_C_COMPILER})
set_tests_properties(install_tree PROPERTIES RESOURCE_LOCK install_prefix)
endif()

# the Python bindings (python/, pure Python over libbcl.so): pip-installed into a
# scratch directory and checked against the PyTorch shim (tests/python)
if(PYTHON3_SYS AND NOT BCL_SANITIZE)
  add_test(NAME python_bindings
           COMMAND ${PYTHON3_SYS} ${CMAKE_SOURCE_DIR}/tests/python/test_bindings.py
                   --lib $<TARGET_FILE:bcl> --workdir ${CMAKE_BINARY_DIR}/python_test)
endif()

# bclc bench's statistics and reports are a file of the tool: its unit test compiles it
if(TARGET test_bench_stats)
  target_sources(test_bench_stats PRIVATE tools/bclc_bench.c)
endif()

# every ```sh block of README.md and docs/*.md runs as written (tests/docs)
if(PYTHON3_SYS AND NOT BCL_SANITIZE)
  add_test(NAME docs_commands
           COMMAND ${PYTHON3_SYS} ${CMAKE_SOURCE_DIR}/tests/docs/run_doc_commands.py --root ${CMAKE_SOURCE_DIR}
                   --build ${CMAKE_BINARY_DIR} --workdir ${CMAKE_BINARY_DIR}/docs_test)
  set_tests_properties(docs_commands PROPERTIES RESOURCE_LOCK install_prefix)
endif()
