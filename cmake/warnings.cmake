# alltools_warnings: an INTERFACE target every project target links to get the same warning set.
add_library(alltools_warnings INTERFACE)
target_compile_options(alltools_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wnon-virtual-dtor -Wno-missing-field-initializers>
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU>>:-Wshadow=local>)  # clang has no =local form
