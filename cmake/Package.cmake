# Installation layout and the Debian package (`make deb`, CPack's DEB generator):
#   /usr/sbin/ferryd, /usr/bin/ferryctl, /usr/lib/systemd/system/ferryd.service,
#   man pages, /usr/share/doc/ferry/{README.md,metrics.md,grafana-ferry.json,examples/}.
# contrib/debian/postinst creates the system user "ferry" the unit runs as.
# `install` and `package` build only what they install (ferryd, ferryctl,
# man), not every test: see the Makefile's deb target.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)
include(GNUInstallDirs)
install(TARGETS ferryd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS ferryctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_SOURCE_DIR}/contrib/ferryd.service DESTINATION lib/systemd/system)
install(FILES ${FERRY_MAN_DIR}/ferryd.8 ${FERRY_MAN_DIR}/ferryctl.8
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${FERRY_MAN_DIR}/ferry.toml.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/docs/metrics.md
              ${CMAKE_SOURCE_DIR}/contrib/grafana-ferry.json
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${CMAKE_SOURCE_DIR}/examples/site-a.toml ${CMAKE_SOURCE_DIR}/examples/site-b.toml
              ${CMAKE_SOURCE_DIR}/examples/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ferry)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "ferry maintainers <ferry@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "site-to-site VPN gateway: WireGuard tunnels and BGP")
set(CPACK_PACKAGE_DESCRIPTION
    "ferryd builds WireGuard tunnels in userspace, runs BGP with the peer gateways and installs the selected routes into the kernel and the tunnel; ferryctl controls it.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/contrib/debian/postinst ${CMAKE_SOURCE_DIR}/contrib/debian/prerm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
