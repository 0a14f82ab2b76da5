"""The one-line summary of an error, as every message of the tools quotes it.

The tools of this I3D reimplementation (Carreira & Zisserman, CVPR 2017) wrap
errors from TensorFlow, numpy and the OS in their own one-line messages;
`first_line` is the part of the cause they quote.
"""

from typing import Optional


def first_line(error: BaseException, limit: Optional[int] = 300) -> str:
  """The first non-empty line of `error`'s message, at most `limit` chars.

  Args:
    error: Any exception. TensorFlow's errors carry their text in `message`.
    limit: The most characters kept (None: all).

  Returns:
    The line, or the exception's type name when the message is empty.
  """
  text = getattr(error, 'message', None)
  if not isinstance(text, str):
    text = str(error)
  lines = [line.strip() for line in text.splitlines() if line.strip()]
  line = lines[0] if lines else type(error).__name__
  return line if limit is None else line[:limit]
