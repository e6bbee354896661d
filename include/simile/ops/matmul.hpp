#pragma once
/// \file
/// Matrix product of 2-D Vars through Eigen's GEMM, with transposed variants that never copy:
/// C = op(A) op(B), op(X) = X or X^T. Backward, for C = A B: dA = G B^T, dB = A^T G; the transposed
/// variants follow by transposing these. Gradients accumulate in place through GEMM (beta = 1), so the
/// backward pass allocates nothing.

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"

namespace simile {

/// op(a) op(b) for 2-D a and b; `transpose_a` / `transpose_b` select op = transpose.
/// Shapes: op(a) is [M, K], op(b) is [K, N], the result [M, N].
template <Real T>
Var<T> matmul(const Var<T>& a, const Var<T>& b, bool transpose_a = false, bool transpose_b = false) {
  check<ShapeError>(a.shape().rank() == 2 && b.shape().rank() == 2, "matmul: expected 2-D operands, got ",
                    a.shape(), " and ", b.shape());
  const Index M = transpose_a ? a.dim(1) : a.dim(0);
  const Index Ka = transpose_a ? a.dim(0) : a.dim(1);
  const Index Kb = transpose_b ? b.dim(1) : b.dim(0);
  const Index N = transpose_b ? b.dim(0) : b.dim(1);
  check<ShapeError>(Ka == Kb, "matmul: inner dimensions differ: ", a.shape(), (transpose_a ? "^T" : ""), " x ",
                    b.shape(), (transpose_b ? "^T" : ""));
  const Tensor<T>& av = a.value();
  const Tensor<T>& bv = b.value();
  Tensor<T> c = Tensor<T>::empty({M, N});
  auto A = av.matrix();
  auto B = bv.matrix();
  auto C = c.matrix();
  if (!transpose_a && !transpose_b) C.noalias() = A * B;
  else if (transpose_a && !transpose_b) C.noalias() = A.transpose() * B;
  else if (!transpose_a && transpose_b) C.noalias() = A * B.transpose();
  else C.noalias() = A.transpose() * B.transpose();

  return make_op<T>("matmul", std::move(c), {a, b}, [av, bv, transpose_a, transpose_b](Node<T>& self) {
    auto A = av.matrix();
    auto B = bv.matrix();
    auto G = self.grad.matrix();
    if (Tensor<T>* ga = self.grad_for(0)) {
      auto dA = ga->matrix();
      if (!transpose_a && !transpose_b) dA.noalias() += G * B.transpose();     // C = A B
      else if (!transpose_a) dA.noalias() += G * B;                            // C = A B^T
      else if (!transpose_b) dA.noalias() += B * G.transpose();                // C = A^T B
      else dA.noalias() += B.transpose() * G.transpose();                      // C = A^T B^T
    }
    if (Tensor<T>* gb = self.grad_for(1)) {
      auto dB = gb->matrix();
      if (!transpose_a && !transpose_b) dB.noalias() += A.transpose() * G;     // C = A B
      else if (!transpose_a) dB.noalias() += G.transpose() * A;                // C = A B^T
      else if (!transpose_b) dB.noalias() += A * G;                            // C = A^T B
      else dB.noalias() += G.transpose() * A.transpose();                      // C = A^T B^T
    }
  });
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPS_MATMUL(P, T) \
  P template Var<T> matmul<T>(const Var<T>& a, const Var<T>& b, bool transpose_a, bool transpose_b);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPS_MATMUL)

}  // namespace simile
