# console.cmake: builds the web console (web/, issue 13) and embeds it in sg_web
# (docs/adr/0011-web-console.md). `npm ci` installs the locked packages into
# web/node_modules when package-lock.json changes; `vite build` writes the hashed files into
# <build>/console/dist whenever a source of web/ or docs/openapi.yaml (the forms' schemas)
# changes; embed_console.cmake turns them into console_assets.cpp. SG_CONSOLE=OFF (or no npm)
# embeds an empty table: the API works, / answers as any unknown path.
set(SG_WEB_DIR ${CMAKE_SOURCE_DIR}/web)
set(console_out ${CMAKE_BINARY_DIR}/console)
set(console_cpp ${console_out}/console_assets.cpp)
find_program(SG_NPM npm)
find_program(SG_NODE NAMES node nodejs)

if(SG_CONSOLE AND (NOT SG_NPM OR NOT SG_NODE))
  message(WARNING "SG_CONSOLE: npm/node not found (scripts/bootstrap installs them); building without the web console")
  set(SG_CONSOLE OFF)
endif()

set_property(GLOBAL PROPERTY SG_CONSOLE_BUILT ${SG_CONSOLE})
if(SG_CONSOLE)
  file(GLOB_RECURSE console_sources CONFIGURE_DEPENDS ${SG_WEB_DIR}/src/*)
  set(console_config ${SG_WEB_DIR}/index.html ${SG_WEB_DIR}/vite.config.ts
                     ${SG_WEB_DIR}/openapi-plugin.ts ${SG_WEB_DIR}/tsconfig.json
                     ${CMAKE_SOURCE_DIR}/docs/openapi.yaml)
  add_custom_command(
    OUTPUT ${console_out}/npm-ci.stamp
    COMMAND ${SG_NPM} ci --no-audit --no-fund --loglevel=error
    COMMAND ${CMAKE_COMMAND} -E touch ${console_out}/npm-ci.stamp
    DEPENDS ${SG_WEB_DIR}/package.json ${SG_WEB_DIR}/package-lock.json
    WORKING_DIRECTORY ${SG_WEB_DIR}
    COMMENT "web console: npm ci (locked packages)"
    VERBATIM)
  add_custom_command(
    OUTPUT ${console_cpp}
    COMMAND ${SG_NODE} node_modules/typescript/bin/tsc --noEmit -p .
    COMMAND ${SG_NODE} node_modules/vite/bin/vite.js build --logLevel warn --emptyOutDir
            --outDir ${console_out}/dist
    COMMAND ${CMAKE_COMMAND} -DDIST=${console_out}/dist -DOUT=${console_cpp}
            -P ${CMAKE_SOURCE_DIR}/cmake/embed_console.cmake
    DEPENDS ${console_out}/npm-ci.stamp ${console_sources} ${console_config}
            ${CMAKE_SOURCE_DIR}/cmake/embed_console.cmake
    WORKING_DIRECTORY ${SG_WEB_DIR}
    COMMENT "web console: tsc + vite build, embedded"
    VERBATIM)
else()
  add_custom_command(
    OUTPUT ${console_cpp}
    COMMAND ${CMAKE_COMMAND} -DDIST= -DOUT=${console_cpp} -P ${CMAKE_SOURCE_DIR}/cmake/embed_console.cmake
    DEPENDS ${CMAKE_SOURCE_DIR}/cmake/embed_console.cmake
    COMMENT "web console: not built (SG_CONSOLE=OFF)"
    VERBATIM)
endif()
target_sources(sg_web PRIVATE ${console_cpp})
