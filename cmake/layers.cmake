# bnrecal_area(NAME [DEPENDENCIES...]): the static library bnrecal_NAME from src/NAME/*.cpp.
#
# Its public headers live in include/bnrecal/NAME/. Each area gets its own include root in the
# build tree (area_include/NAME/bnrecal/NAME -> include/bnrecal/NAME), so a target sees
# "bnrecal/X/..." only for its own area and the areas it links: an include of a higher area fails
# to compile. Dependencies are PUBLIC because the areas' public headers include the headers of the
# areas below them (a consumer of recal needs nn's headers to read recalibrate.h).
function(bnrecal_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
endfunction()

function(bnrecal_area name)
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/${name}/*.cpp)
  add_library(bnrecal_${name} STATIC ${sources})
  set(root ${CMAKE_BINARY_DIR}/area_include/${name})
  file(MAKE_DIRECTORY ${root}/bnrecal)
  if(NOT EXISTS ${root}/bnrecal/${name})
    file(CREATE_LINK ${CMAKE_SOURCE_DIR}/include/bnrecal/${name} ${root}/bnrecal/${name} SYMBOLIC)
  endif()
  target_include_directories(bnrecal_${name} PUBLIC ${root})
  target_link_libraries(bnrecal_${name} PUBLIC ${ARGN})
  set_target_properties(bnrecal_${name} PROPERTIES LINKER_LANGUAGE CXX)
  bnrecal_warnings(bnrecal_${name})
endfunction()
