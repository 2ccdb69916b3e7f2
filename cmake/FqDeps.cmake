# Every dependency is a Debian 12 package (see README.md); nothing is downloaded.
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)
find_package(yaml-cpp REQUIRED)   # 0.7: target yaml-cpp
find_package(Catch2 2 REQUIRED)   # v2 API: catch2/catch.hpp
find_package(nlohmann_json 3 REQUIRED)  # safetensors headers, JSON reports
