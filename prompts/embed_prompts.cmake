# Script mode: writes OUT with one `const unsigned char kPrompt_<name>[]` (+ size) per NAMES entry read from
# SRC_DIR/<name>.txt, dropping one trailing "\n".
set(body "// Generated from prompts/*.txt by embed_prompts.cmake. Do not edit.\n#include <cstddef>\nnamespace alltools::prompts::detail {\n")
foreach(name ${NAMES})
  file(READ ${SRC_DIR}/${name}.txt hex HEX)
  string(REGEX REPLACE "0a$" "" hex "${hex}")
  string(LENGTH "${hex}" hex_len)
  math(EXPR size "${hex_len} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND body "extern const unsigned char kPrompt_${name}[] = {${bytes}0x00};\n")
  string(APPEND body "extern const std::size_t kPromptSize_${name} = ${size};\n")
endforeach()
string(APPEND body "}  // namespace alltools::prompts::detail\n")
file(WRITE ${OUT} "${body}")
