# fq_project_options: warnings and sanitizers shared by every fqsim target.
add_library(fq_project_options INTERFACE)
target_compile_options(fq_project_options INTERFACE -Wall -Wextra -Wpedantic -Wshadow
  -Wnon-virtual-dtor -Wconversion -Wno-sign-conversion)
if(FQ_WERROR)
  target_compile_options(fq_project_options INTERFACE -Werror)
endif()
if(FQ_SANITIZE)
  target_compile_options(fq_project_options INTERFACE -fsanitize=address,undefined
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(fq_project_options INTERFACE -fsanitize=address,undefined)
endif()
