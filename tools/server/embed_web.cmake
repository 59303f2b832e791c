# SPDX-License-Identifier: MIT
# cmake -DINPUT=index.html -DOUTPUT=web_assets.cc -P embed_web.cmake: writes a C++ file that
# defines mamba::server::kIndexHtml with the page's bytes (a raw string literal), so the page
# works offline and ships inside the binary.
file(READ "${INPUT}" content)
string(FIND "${content}" ")mamba_web\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )mamba_web\"")
endif()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by embed_web.cmake; do not edit.\n"
  "#include \"web_assets.h\"\n"
  "namespace mamba::server {\n"
  "const char kIndexHtml[] = R\"mamba_web(${content})mamba_web\";\n"
  "}  // namespace mamba::server\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
