// The one Verilator recipe for rtl/: the options of every Verilation of these sources (the
// tests/rtl models and lint, the co-simulation runners of sim/rtl/rtl_engine.cpp), passed as
// `-F rtl/fq_verilator.f`, so relative paths are relative to this folder. X policy: no source
// assigns an X; --x-assign/--x-initial unique, without +verilator+rand+reset at run time, start
// every run from zeros (docs/rtl.md "One Verilator recipe").
-Wall
-O3
--unroll-count 4096
--x-assign unique
--x-initial unique
-I.
fq_lint.vlt
