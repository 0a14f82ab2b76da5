"""The parameters of DualTVL1 that the TensorFlow TV-L1 supports.

I3D's flow stream (Carreira & Zisserman, "Quo Vadis, Action Recognition? A
New Model and the Kinetics Dataset", CVPR 2017) is trained on TV-L1 flow
from OpenCV's `cv2.optflow.DualTVL1OpticalFlow_create()` at its default
parameters; `TVL1Params()` holds those defaults under OpenCV's names.
"""

import dataclasses
from typing import Any, Dict


@dataclasses.dataclass(frozen=True)
class TVL1Params:
  """Parameters of DualTVL1 (OpenCV's names; defaults are OpenCV's).

  Attributes:
    tau: Time step of the numerical scheme.
    lambda_: Weight of the data term (OpenCV's `lambda`).
    theta: Coupling between the two flows u and v.
    nscales: Number of pyramid scales (fewer if the image is small).
    warps: Warpings per scale.
    epsilon: Stopping threshold (RMS change of the flow, in pixels).
    inner_iterations: Inner iterations per outer iteration.
    outer_iterations: Outer iterations (each starts with the median filter).
    scale_step: Downscaling factor between pyramid levels.
    gamma: Illumination-change term weight; only 0 is supported.
    median_filtering: Median filter size; only 5 (or <= 1: off) supported.
    use_initial_flow: Only False is supported.
  """
  tau: float = 0.25
  lambda_: float = 0.15
  theta: float = 0.3
  nscales: int = 5
  warps: int = 5
  epsilon: float = 0.01
  inner_iterations: int = 30
  outer_iterations: int = 10
  scale_step: float = 0.8
  gamma: float = 0.0
  median_filtering: int = 5
  use_initial_flow: bool = False

  def validate(self) -> None:
    """Checks that this implementation supports the parameters.

    Raises:
      ValueError: naming the first unsupported parameter.
    """
    if self.gamma != 0:
      raise ValueError(f'params.gamma must be 0, got {self.gamma}.')
    if self.use_initial_flow:
      raise ValueError('params.use_initial_flow must be False.')
    if self.median_filtering not in (0, 1, 5):
      raise ValueError(
          f'params.median_filtering must be 5 (or 0/1 for none), got '
          f'{self.median_filtering}.')
    if self.nscales < 1 or self.warps < 1:
      raise ValueError(
          f'params.nscales and params.warps must be >= 1, got '
          f'{self.nscales}, {self.warps}.')
    if self.inner_iterations < 1 or self.outer_iterations < 1:
      raise ValueError('params.inner_iterations and params.outer_iterations '
                       'must be >= 1.')
    if not 0 < self.scale_step < 1:
      raise ValueError(
          f'params.scale_step must be in (0, 1), got {self.scale_step}.')

  def to_dict(self) -> Dict[str, Any]:
    """Returns the parameters under OpenCV's names, JSON-serialisable."""
    d = dataclasses.asdict(self)
    d['lambda'] = d.pop('lambda_')
    return d

  @classmethod
  def from_dict(cls, values: Dict[str, Any]) -> 'TVL1Params':
    """The parameters `to_dict()` returned (OpenCV's names)."""
    values = dict(values)
    values['lambda_'] = values.pop('lambda')
    return cls(**values)


DEFAULT_PARAMS = TVL1Params()
