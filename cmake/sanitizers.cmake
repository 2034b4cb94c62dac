# -DALLTOOLS_SANITIZE=ON: ASan + UBSan on every target (tests must pass under it: scripts/test.sh --sanitize).
if(ALLTOOLS_SANITIZE)
  add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=address,undefined;-fno-omit-frame-pointer;-fno-sanitize-recover=undefined>")
  add_link_options(-fsanitize=address,undefined)
endif()
