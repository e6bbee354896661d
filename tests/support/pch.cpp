// Compiles the tests' precompiled header (GoogleTest and Eigen) once for every test binary.
