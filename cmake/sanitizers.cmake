# P2PANDA_SANITIZE=address builds everything with ASan + UBSan (UB aborts, so tests fail loudly);
# P2PANDA_SANITIZE=thread with TSan. P2PANDA_FUZZ adds libFuzzer instrumentation (clang only).
if(P2PANDA_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
elseif(P2PANDA_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT P2PANDA_SANITIZE STREQUAL "")
  message(FATAL_ERROR "P2PANDA_SANITIZE must be empty, 'address' or 'thread'")
endif()

if(P2PANDA_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "P2PANDA_FUZZ needs clang (libFuzzer)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# clang 14's -fsanitize=function (part of 'undefined') cannot compile C++20 coroutines: the
# prologue it adds to each function refers to the type info across sections, and the split
# coroutine functions (src/net, asio awaitables) stop the assembler with "Cannot represent a
# difference across sections". Only that one check (calls through a function pointer of the wrong
# type) is left out; clang 17 reworked it.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND
   (P2PANDA_FUZZ OR P2PANDA_SANITIZE STREQUAL "address"))
  add_compile_options(-fno-sanitize=function)
endif()
