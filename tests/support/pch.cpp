// Compiles the tests' precompiled header (support/testing.hpp) once for every test binary.
