#pragma once
/// \file
/// How simile's templates over `Real` (exactly float and double) are compiled once.
///
/// Each header that defines templates over `Real T` lists the specializations users call in one macro,
/// `SIMILE_TEMPLATES_<FOLDER>_<NAME>(P, T)`, whose entries read `P template Var<T> relu<T>(const Var<T>&);`.
/// The header ends with `SIMILE_EXTERN_TEMPLATES(that macro)`: `extern template ...` for float and double,
/// so a user's translation unit parses the definitions but never instantiates or optimizes them; the
/// compiled part of simile (`src/<folder>/<name>.cpp`) says `SIMILE_INSTANTIATE_TEMPLATES(that macro)`
/// and holds the one copy. A list is written once and serves both sides.
///
/// Header-only mode (`SIMILE_HEADER_ONLY`, the CMake option of that name): the extern declarations
/// vanish and every translation unit instantiates what it uses, as before the compiled part existed;
/// non-template code kept in `*-inl.hpp` files is then included by its header and compiled `inline`.

#if defined(SIMILE_HEADER_ONLY)
/// Empty in header-only mode: every translation unit instantiates what it uses.
#define SIMILE_EXTERN_TEMPLATES(LIST)
/// `inline` in header-only mode (definitions in `*-inl.hpp` are then included by every user), empty when
/// they are compiled once into the library.
#define SIMILE_INLINE inline
#else
/// Declares the float and double specializations in LIST as explicitly instantiated elsewhere.
#define SIMILE_EXTERN_TEMPLATES(LIST) LIST(extern, float) LIST(extern, double)
#define SIMILE_INLINE
#endif

/// Instantiates the float and double specializations in LIST (used only in simile's `src/`).
#define SIMILE_INSTANTIATE_TEMPLATES(LIST) LIST(, float) LIST(, double)
