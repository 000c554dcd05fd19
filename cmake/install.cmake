# Install rules (docs/deploy.md): `make install [PREFIX=...] [DESTDIR=...]`, and the .deb
# (`make package`, CPack below) made from the same rules.
#
#   <prefix>/bin/sgeventd
#   <prefix>/lib/sgeventd/sgeventd-python-worker       the Python worker, found relative to the
#   <prefix>/lib/sgeventd/python/{sgeventd_worker,standin}   binary (../lib/sgeventd)
#   <prefix>/lib/python3/dist-packages/sgeventd/       the pytest kit (sgeventd.testing), with
#   <prefix>/lib/python3/dist-packages/sgeventd-V.dist-info   its pytest11 entry point
#   <prefix>/share/doc/sgeventd/                        README, docs, LICENSE, example plugins
#   <prefix>/share/man/man1/sgeventd.1
#   <prefix>/include/sgeventd/, lib/cmake/sgeventd/, lib/pkgconfig/sgeventd.pc
#   <etc>/sgeventd/sgeventd.conf, <etc>/default/sgeventd, <lib>/systemd/system/sgeventd.service
#
# <etc> and <lib> are /etc and /lib for the prefix /usr (the package), <prefix>/etc and
# <prefix>/lib otherwise; decided when installing, so `cmake --install --prefix` follows.
include(GNUInstallDirs)

set(SGEVENTD_PRIVATE_DIR lib/sgeventd)  # found from the binary: keep in step with discovery

install(TARGETS sgeventd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(PROGRAMS python/sgeventd-python-worker DESTINATION ${SGEVENTD_PRIVATE_DIR})
install(DIRECTORY python/sgeventd_worker/ DESTINATION ${SGEVENTD_PRIVATE_DIR}/python/sgeventd_worker
        FILES_MATCHING PATTERN "*.py" PATTERN "__pycache__" EXCLUDE)
if(TARGET sgeventd_standin)
  install(DIRECTORY ${SGEVENTD_PYTHON_ROOT}/standin DESTINATION ${SGEVENTD_PRIVATE_DIR}/python
          PATTERN "__pycache__" EXCLUDE)
endif()

# The plugin author's pytest kit, where Debian's python3 looks (for the prefix /usr). The
# dist-info makes pytest load it as a plugin (entry point group pytest11) once installed.
set(SGEVENTD_PYTHON_SITE lib/python3/dist-packages)
install(DIRECTORY python/sgeventd/ DESTINATION ${SGEVENTD_PYTHON_SITE}/sgeventd
        FILES_MATCHING PATTERN "*.py" PATTERN "__pycache__" EXCLUDE)
set(kit_info ${CMAKE_BINARY_DIR}/python-dist-info/sgeventd-${PROJECT_VERSION}.dist-info)
file(WRITE ${kit_info}/METADATA
     "Metadata-Version: 2.1\nName: sgeventd\nVersion: ${PROJECT_VERSION}\n"
     "Summary: sgeventd's pytest kit for event daemon plugins (sgeventd.testing)\n")
file(WRITE ${kit_info}/entry_points.txt "[pytest11]\nsgeventd = sgeventd.testing\n")
file(WRITE ${kit_info}/top_level.txt "sgeventd\n")
install(DIRECTORY ${kit_info} DESTINATION ${SGEVENTD_PYTHON_SITE})

install(FILES README.md LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME copyright)  # Debian's name
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples USE_SOURCE_PERMISSIONS)
if(TARGET sgeventd_man_page)
  install(FILES ${SGEVENTD_MAN_PAGE} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()

# For plugin builders: the public headers, a CMake package (find_package(sgeventd): the
# target sgeventd::headers) and pkg-config (sgeventd.pc).
add_library(sgeventd_headers INTERFACE)
target_include_directories(sgeventd_headers INTERFACE
                           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_features(sgeventd_headers INTERFACE cxx_std_20)
target_link_libraries(sgeventd_headers INTERFACE tl::expected)
set_target_properties(sgeventd_headers PROPERTIES EXPORT_NAME headers)
install(TARGETS sgeventd_headers EXPORT sgeventdTargets)
install(DIRECTORY include/sgeventd DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${CMAKE_BINARY_DIR}/generated/sgeventd/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sgeventd)
include(CMakePackageConfigHelpers)
set(cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/sgeventd)
install(EXPORT sgeventdTargets NAMESPACE sgeventd:: DESTINATION ${cmake_dir})
configure_package_config_file(cmake/sgeventdConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/sgeventdConfig.cmake INSTALL_DESTINATION ${cmake_dir})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/sgeventdConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/sgeventdConfig.cmake ${CMAKE_BINARY_DIR}/sgeventdConfigVersion.cmake
        DESTINATION ${cmake_dir})
# The prefix relative to the .pc file, so a package installed elsewhere (--prefix) still works.
file(RELATIVE_PATH SGEVENTD_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(cmake/sgeventd.pc.in ${CMAKE_BINARY_DIR}/sgeventd.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/sgeventd.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The system files: /etc and /lib under the prefix /usr, under the prefix otherwise. Decided
# when installing (file(INSTALL) adds DESTDIR to an absolute destination itself).
install(CODE "
  if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
    set(etc /etc)
    set(units /lib/systemd/system)
  else()
    set(etc \"\${CMAKE_INSTALL_PREFIX}/etc\")
    set(units \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
  endif()
  file(INSTALL DESTINATION \"\${etc}/sgeventd\" TYPE FILE
       FILES \"${CMAKE_SOURCE_DIR}/examples/sgeventd.conf\")
  file(INSTALL DESTINATION \"\${etc}/default\" TYPE FILE RENAME sgeventd
       FILES \"${CMAKE_SOURCE_DIR}/packaging/debian/sgeventd.default\")
  file(INSTALL DESTINATION \"\${units}\" TYPE FILE
       FILES \"${CMAKE_SOURCE_DIR}/packaging/systemd/sgeventd.service\")
")

# --- The .deb ------------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sgeventd)
set(CPACK_PACKAGE_VENDOR "sgeventd")
set(CPACK_PACKAGE_CONTACT "sgeventd maintainers <sgeventd@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "event daemon for ShotGrid (Flow Production Tracking) sites, compatible with shotgunEvents")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
       "sgeventd polls a site's EventLogEntry log and hands every event to plugins: "
       "shotgunEvents' Python plugins and config unchanged, exec plugins, dead letters, replay, "
       "an admin API with Prometheus metrics, and a systemd unit with notify and watchdog.")
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)  # the install rules see the prefix /usr (the system files above)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
# Depends: the shared libraries the binaries link, as dpkg-shlibdeps computes them; beside
# them only what no library says: the interpreter the Python worker runs in.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "python3 (>= 3.7)")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/debian/postinst ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
    ${CMAKE_SOURCE_DIR}/packaging/debian/postrm ${CMAKE_SOURCE_DIR}/packaging/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
