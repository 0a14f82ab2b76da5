"""DualTVL1's solver: the coarse-to-fine iterations, as OpenCV's tvl1flow.cpp.

The TensorFlow TV-L1 (`tvl1_tf`) reproduces OpenCV's DualTVL1, the flow of
I3D's flow stream (Carreira & Zisserman, "Quo Vadis, Action Recognition?",
CVPR 2017): the duality-based TV-L1 of Zach, Pock and Bischof (DAGM 2007)
in the form of Sanchez, Meinhardt-Llopis and Facciolo, "TV-L1 Optical Flow
Estimation", IPOL 3 (2013). At each pyramid level (`one_scale`, OpenCV's
procOneScale) the flow is refined by `warps` warps; each warp runs outer x
inner iterations of `inner_step` (estimateV, estimateU,
estimateDualVariables), the 5x5 median of the flow before each outer
iteration, until OpenCV's stopping rule holds for the pair.

Stopping rule: iterate until the float32 sum over the image (row-major,
accumulated sequentially) of |u_new - u_old|^2 is <= float(epsilon^2 * H *
W), or 300 iterations. The sum is taken in float64, and the sequential
float32 sum is computed only when the float64 one lies within the float32
sum's error bound of the threshold (`classify_error`), so every decision is
OpenCV's. Each pair of a batch has its own mask, so it gets exactly the
iterations it would get alone.

Each warp's iterations (median and stopping rule included) run in one
compiled loop (`_iterate`, XLA when `jit_compile`), called from a
TensorFlow loop (`_one_warp`) that steps in only when a decision needs the
sequential sum (TensorFlow's cumsum, outside XLA). Frames are float32
[N, H, W].
"""

import functools
from typing import Any, NamedTuple, Tuple

import numpy as np
import tensorflow as tf

from kinetics_i3d.flow import tvl1_float32
from kinetics_i3d.flow import tvl1_params
from kinetics_i3d.flow import tvl1_remap
from kinetics_i3d.flow import tvl1_resize
from kinetics_i3d.flow import tvl1_stencils

_FLT_EPSILON = np.finfo(np.float32).eps
# The unit roundoff of float32 (Higham's u).
_FLOAT32_UNIT = 2.0 ** -24

# (u1, u2, p11, p12, p21, p22): the flow and its dual variables.
State = Tuple[tf.Tensor, ...]


class Warped(NamedTuple):
  """I1 warped by the flow, and the data term's pieces (calcGradRho).

  Attributes:
    i1wx: float32 [N, H, W], the warped x derivative of I1.
    i1wy: float32 [N, H, W], the warped y derivative.
    rho_c: float32 [N, H, W], I1w - I1wx u1 - I1wy u2 - I0.
    grad: float32 [N, H, W], I1wx^2 + I1wy^2.
  """
  i1wx: tf.Tensor
  i1wy: tf.Tensor
  rho_c: tf.Tensor
  grad: tf.Tensor


def warp_second_frame(i0: tf.Tensor, stack: tf.Tensor, u1: tf.Tensor,
                      u2: tf.Tensor) -> Warped:
  """Warps I1 and its gradient by the flow; calcGradRho.

  Args:
    i0: float32 [N, H, W], the first frame.
    stack: float32 [N, 3, H, W], the second frame and its x, y derivatives.
    u1: float32 [N, H, W], the flow's x component.
    u2: float32 [N, H, W], its y component.

  Returns:
    The warped derivatives and the data term's pieces.
  """
  _, height, width = i0.shape
  grid_x = tf.constant(np.arange(width, dtype=np.float32)[None, None, :])
  grid_y = tf.constant(np.arange(height, dtype=np.float32)[None, :, None])
  warped = tvl1_remap.remap_cubic(stack, grid_x + u1, grid_y + u2)
  i1wx, i1wy = warped[:, 1], warped[:, 2]
  grad = i1wx * i1wx + i1wy * i1wy
  rho_c = ((warped[:, 0] - i1wx * u1) - i1wy * u2) - i0
  return Warped(i1wx, i1wy, rho_c, grad)


def _estimate_v(m1: tf.Tensor, m2: tf.Tensor, warped: Warped,
                l_t: np.float32) -> Tuple[tf.Tensor, tf.Tensor]:
  """OpenCV's estimateV (thresholding step): the update of v - u."""
  i1wx, i1wy, rho_c, grad = warped
  rho = rho_c + (i1wx * m1 + i1wy * m2)
  lt_grad = l_t * grad
  fi = -rho / tf.where(grad > _FLT_EPSILON, grad, tf.ones_like(grad))
  low = rho < -lt_grad
  high = rho > lt_grad
  mid_ok = grad > _FLT_EPSILON
  zeros = tf.zeros_like(rho)
  d1 = tf.where(low, l_t * i1wx, tf.where(
      high, -l_t * i1wx, tf.where(mid_ok, fi * i1wx, zeros)))
  d2 = tf.where(low, l_t * i1wy, tf.where(
      high, -l_t * i1wy, tf.where(mid_ok, fi * i1wy, zeros)))
  return d1, d2


def _estimate_dual_variables(n1: tf.Tensor, n2: tf.Tensor, p11: tf.Tensor,
                             p12: tf.Tensor, p21: tf.Tensor, p22: tf.Tensor,
                             taut: np.float32) -> Tuple[tf.Tensor, ...]:
  """OpenCV's estimateDualVariables: (q11, q12, q21, q22)."""
  u1x, u1y = tvl1_stencils.forward_gradient(n1)
  u2x, u2y = tvl1_stencils.forward_gradient(n2)
  ng1 = np.float32(1) + taut * tvl1_float32.hypot_f32(u1x, u1y)
  ng2 = np.float32(1) + taut * tvl1_float32.hypot_f32(u2x, u2y)
  return ((p11 + taut * u1x) / ng1, (p12 + taut * u1y) / ng1,
          (p21 + taut * u2x) / ng2, (p22 + taut * u2y) / ng2)


def inner_step(m1: tf.Tensor, m2: tf.Tensor, state: State, active: tf.Tensor,
               warped: Warped,
               params: tvl1_params.TVL1Params) -> Tuple[State, tf.Tensor]:
  """One inner iteration: estimateV, estimateU, estimateDualVariables.

  Pure elementwise/stencil work, which XLA fuses into a few loops.

  Args:
    m1: float32 [N, H, W], u1 after the optional median filter.
    m2: float32 [N, H, W], u2 likewise.
    state: (u1, u2, p11, p12, p21, p22), float32 [N, H, W] each.
    active: bool [N]; pairs not active keep their state.
    warped: The warp's data term.
    params: Algorithm parameters.

  Returns:
    (state, error64): the new state and, per pair, the sum of
    |u_new - m|^2 accumulated in float64 (OpenCV's float32 running sum is
    within a known bound of it; see `classify_error`).
  """
  u1, u2, p11, p12, p21, p22 = state
  l_t = np.float32(params.lambda_ * params.theta)
  taut = np.float32(params.tau / params.theta)
  theta = np.float32(params.theta)
  d1, d2 = _estimate_v(m1, m2, warped, l_t)
  # estimateU.
  n1 = (m1 + d1) + theta * tvl1_stencils.divergence(p11, p12)
  n2 = (m2 + d2) + theta * tvl1_stencils.divergence(p21, p22)
  e1 = n1 - m1
  e2 = n2 - m2
  error = tf.reduce_sum(tf.cast(e1 * e1 + e2 * e2, tf.float64), axis=[1, 2])
  duals = _estimate_dual_variables(n1, n2, p11, p12, p21, p22, taut)
  mask = active[:, None, None]
  new = tuple(tf.where(mask, a, b)
              for a, b in zip((n1, n2) + duals, state))
  return new, error


def classify_error(error64: tf.Tensor, scaled_eps: np.float32,
                   num_pixels: int) -> Tuple[tf.Tensor, tf.Tensor]:
  """OpenCV's `error > scaledEpsilon` per pair, where float64 settles it.

  OpenCV compares a float32 sum accumulated pixel after pixel. Such a sum
  of n non-negative terms is within gamma = (n - 1) u / (1 - (n - 1) u)
  (u = 2^-24) relative of the exact sum (Higham, "Accuracy and Stability
  of Numerical Algorithms", 2nd ed., eq. 4.4), so the float64 sum settles
  the comparison unless it lies within that bound of the threshold; only
  then must the sequential sum (`tvl1_float32.sequential_sum`) decide.

  Args:
    error64: float64 [N] sums.
    scaled_eps: OpenCV's float threshold epsilon^2 * H * W.
    num_pixels: H * W.

  Returns:
    (above, ambiguous), bool [N] each: `above` is OpenCV's verdict where
    `ambiguous` is False; where it is True the sequential sum decides.
  """
  unit = _FLOAT32_UNIT
  gamma = (num_pixels - 1) * unit / (1 - (num_pixels - 1) * unit)
  gamma = gamma * (1 + 1e-6) + 1e-12  # Covers the float64 sum's own error.
  eps = float(scaled_eps)
  sure_above = error64 * (1 - gamma) > eps
  sure_below = error64 * (1 + gamma) <= eps
  return sure_above, ~(sure_above | sure_below)


def _stopping_threshold(params: tvl1_params.TVL1Params,
                        frames: tf.Tensor) -> np.float32:
  """OpenCV's scaledEpsilon, epsilon^2 * H * W in float32."""
  _, height, width = frames.shape
  return np.float32(params.epsilon * params.epsilon * height * width)


def _max_iterations(params: tvl1_params.TVL1Params) -> int:
  return params.inner_iterations * params.outer_iterations


def _median_if_due(t: tf.Tensor, u1: tf.Tensor, u2: tf.Tensor,
                   params: tvl1_params.TVL1Params
                   ) -> Tuple[tf.Tensor, tf.Tensor]:
  """u, median-filtered before inner iterations 0, 30, 60, ... (OpenCV)."""
  if params.median_filtering <= 1:
    return u1, u2
  return tf.cond(
      tf.equal(t % params.inner_iterations, 0),
      lambda: tuple(tf.split(
          tvl1_stencils.median_blur5(tf.concat([u1, u2], 0)), 2)),
      lambda: (u1, u2))


def _iteration(t: tf.Tensor, active: tf.Tensor, pending: tf.Tensor,
               state: State, squares: tf.Tensor, warped: Warped,
               params: tvl1_params.TVL1Params) -> Tuple[Any, ...]:
  """The body of `_iterate`'s loop: one iteration and its stopping rule."""
  del pending, squares  # Recomputed from this iteration.
  u1, u2 = state[0], state[1]
  m1, m2 = _median_if_due(t, u1, u2, params)
  new, error64 = inner_step(m1, m2, state, active, warped, params)
  e1 = new[0] - m1
  e2 = new[1] - m2
  above, ambiguous = classify_error(
      error64, _stopping_threshold(params, u1),
      u1.shape[1] * u1.shape[2])
  pending = active & ambiguous
  return (t + 1, active & (above | pending), pending, new,
          e1 * e1 + e2 * e2)


def _iterating(t: tf.Tensor, active: tf.Tensor, pending: tf.Tensor,
               *unused: Any, max_iterations: int) -> tf.Tensor:
  """`_iterate` goes on while a pair is active and none is pending."""
  return ((t < max_iterations) & tf.reduce_any(active) &
          ~tf.reduce_any(pending))


def _iterate(t: tf.Tensor, active: tf.Tensor, state: State,
             warped: Warped, params: tvl1_params.TVL1Params
             ) -> Tuple[Any, ...]:
  """Inner iterations until all pairs stop or one needs the exact sum.

  Args:
    t: int32, the iterations done in this warp.
    active: bool [N], the pairs still iterating.
    state: (u1, u2, p11, p12, p21, p22).
    warped: The warp's data term.
    params: Algorithm parameters.

  Returns:
    (t, active, pending, state, squares): `pending` marks the pairs whose
    last stopping decision is left to the caller (they are still active);
    `squares` holds their float32 |u_new - u_old|^2 terms.
  """
  return tf.while_loop(
      functools.partial(_iterating, max_iterations=_max_iterations(params)),
      functools.partial(_iteration, warped=warped, params=params),
      (t, active, tf.zeros_like(active), state,
       tf.zeros_like(warped.rho_c)))


def _decide_pending(active: tf.Tensor, pending: tf.Tensor,
                    squares: tf.Tensor,
                    scaled_eps: np.float32) -> tf.Tensor:
  """`active` with the pending decisions taken on the sequential sum."""
  return tf.cond(
      tf.reduce_any(pending),
      lambda: tf.where(
          pending, tvl1_float32.sequential_sum(squares) > scaled_eps, active),
      lambda: active)


def _one_warp(state: State, warp: Any, iterate: Any,
              params: tvl1_params.TVL1Params) -> State:
  """One warp: the data term at the current flow, then its iterations."""
  u1, u2 = state[0], state[1]
  warped = warp(u1, u2)
  scaled_eps = _stopping_threshold(params, u1)
  max_iterations = _max_iterations(params)

  def resume(t, active, pending, state, squares):
    active = _decide_pending(active, pending, squares, scaled_eps)
    return iterate(t, active, state, warped)

  no_pairs = tf.zeros([tf.shape(u1)[0]], tf.bool)
  loop = tf.while_loop(
      lambda t, active, *unused: (t < max_iterations) & tf.reduce_any(active),
      resume,
      (tf.constant(0), tf.ones_like(no_pairs), no_pairs, state,
       tf.zeros_like(u1)))
  return loop[3]


def one_scale(i0: tf.Tensor, i1: tf.Tensor, u1: tf.Tensor, u2: tf.Tensor,
              params: tvl1_params.TVL1Params,
              jit_compile: bool) -> Tuple[tf.Tensor, tf.Tensor]:
  """procOneScale: warps x (outer x inner) iterations at one pyramid level.

  Args:
    i0: float32 [N, H, W], the first frames at this level.
    i1: float32 [N, H, W], the second frames.
    u1: float32 [N, H, W], the flow's x component to start from.
    u2: float32 [N, H, W], its y component.
    params: Algorithm parameters.
    jit_compile: Whether XLA compiles the warp and the iterations.

  Returns:
    (u1, u2), the refined flow.
  """
  i1x, i1y = tvl1_stencils.centered_gradient(i1)
  stack = tf.stack([i1, i1x, i1y], axis=1)
  compile_ = functools.partial(tf.function, jit_compile=jit_compile,
                               autograph=False)
  warp = compile_(lambda u1, u2: warp_second_frame(i0, stack, u1, u2))
  iterate = compile_(functools.partial(_iterate, params=params))

  def warp_body(w, *state):
    return (w + 1, *_one_warp(state, warp, iterate, params))

  # The dual variables start at 0 once per scale, as in OpenCV.
  zeros = tf.zeros_like(i0)
  out = tf.while_loop(lambda w, *unused: w < params.warps, warp_body,
                      (tf.constant(0), u1, u2, zeros, zeros, zeros, zeros))
  return out[1], out[2]


def flow_graph(first: tf.Tensor, second: tf.Tensor,
               params: tvl1_params.TVL1Params, jit_compile: bool,
               resize: str) -> tf.Tensor:
  """The whole coarse-to-fine computation (OpenCV's calc).

  Args:
    first: float32 [N, H, W] frames in [0, 255].
    second: float32 [N, H, W], the frames after `first`.
    params: Algorithm parameters.
    jit_compile: Whether XLA compiles each warp's iterations.
    resize: `tvl1_resize.resize_arithmetic()` of the OpenCV to follow.

  Returns:
    float32 [N, H, W, 2] flow (x, y) in pixels.
  """
  height, width = first.shape[1], first.shape[2]
  sizes = tvl1_resize.pyramid_sizes(height, width, params)
  factors = (params.scale_step,) * 2
  i0s, i1s = [first], [second]
  for h, w in sizes[1:]:
    i0s.append(tvl1_resize.resize_linear(i0s[-1], h, w, factors, resize))
    i1s.append(tvl1_resize.resize_linear(i1s[-1], h, w, factors, resize))
  u1 = tf.zeros_like(i0s[-1])
  u2 = tf.zeros_like(i0s[-1])
  up = np.float32(1 / params.scale_step)
  for s in range(len(sizes) - 1, -1, -1):
    u1, u2 = one_scale(i0s[s], i1s[s], u1, u2, params, jit_compile)
    if s == 0:
      break
    h, w = sizes[s - 1]
    u1 = tvl1_resize.resize_linear(u1, h, w, arithmetic=resize) * up
    u2 = tvl1_resize.resize_linear(u2, h, w, arithmetic=resize) * up
  return tf.stack([u1, u2], axis=-1)
