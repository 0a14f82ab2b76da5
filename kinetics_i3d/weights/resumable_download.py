# Copyright 2026 The kinetics-i3d TF2 authors. All Rights Reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#    http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
# ============================================================================
"""A download into a `.part` file that resumes where it stopped.

The files of DeepMind's I3D release (Carreira & Zisserman, "Quo Vadis, Action
Recognition?", CVPR 2017, https://arxiv.org/abs/1705.07750) are fetched with
urllib. The bytes go to a partial file; a connection that ends early is
resumed with an HTTP Range request (`bytes=<have>-`), in the same call (up to
`attempts` connections, with a growing pause between them) or in a later
one, which finds the partial file. A server that ignores the Range header is
read from the start again. Progress is a `utils.progress.Progress` in bytes:
a bar on terminals and a log line at each tenth of the file.
"""

import dataclasses
import http.client
import os
import socket
import sys
import time
from typing import BinaryIO, Optional, Tuple
import urllib.error
import urllib.request

from absl import logging

from kinetics_i3d.utils import atomic_files
from kinetics_i3d.utils import progress
from kinetics_i3d.weights import release_urls

# Seconds without a byte before a connection is given up (then resumed).
_TIMEOUT_S = 60.0
_CHUNK = 1 << 20
_USER_AGENT = 'kinetics-i3d-tf2 (python urllib)'
# Log lines over one file: one per tenth.
_LOG_LINES = 10
_NETWORK_ERRORS = (socket.timeout, http.client.HTTPException, ConnectionError)


class DownloadError(Exception):
  """The server's answer cannot be the file; `str(e)` says why, not where."""


class _Interrupted(Exception):
  """The connection ended before the whole file came; resumable."""


@dataclasses.dataclass(frozen=True)
class _Body:
  """What one answer of the server will write into the partial file.

  Attributes:
    have: bytes already in the partial file that the answer continues.
    total: the size of the whole file, if known.
    mode: 'ab' to append to the partial file, 'wb' to start it again.
  """
  have: int
  total: Optional[int]
  mode: str


def _content_range_start(value: Optional[str]) -> Tuple[Optional[int],
                                                        Optional[int]]:
  """(start, total) of a 'bytes START-END/TOTAL' Content-Range, or Nones."""
  try:
    unit, spec = (value or '').split(' ', 1)
    span, total = spec.split('/')
    start = int(span.split('-')[0])
    return (start if unit == 'bytes' else None,
            None if total.strip() == '*' else int(total))
  except ValueError:
    return None, None


def _size_or_zero(path: str) -> int:
  return os.path.getsize(path) if os.path.exists(path) else 0


def _on_terminal() -> bool:
  try:
    return sys.stderr.isatty()
  except (AttributeError, ValueError):
    return False


def _open(url: str, partial: str, have: int) -> http.client.HTTPResponse:
  """Asks for `url` from byte `have` of `partial` on."""
  headers = {'User-Agent': _USER_AGENT}
  if have:
    headers['Range'] = f'bytes={have}-'
  try:
    request = urllib.request.Request(url, headers=headers)
    return urllib.request.urlopen(request, timeout=_TIMEOUT_S)
  except urllib.error.HTTPError as e:
    if e.code == 416 and have:  # Range not satisfiable: start again.
      atomic_files.remove_quietly(partial)
      raise _Interrupted('the server refused to resume') from None
    raise DownloadError(f'HTTP error {e.code} {e.reason}') from None
  except urllib.error.URLError as e:
    raise DownloadError(f'cannot fetch it ({e.reason})') from None
  except ValueError as e:  # No scheme, say: the base URL is at fault.
    raise DownloadError(
        f'not a URL ({e}); check {release_urls.URL_ENV}') from None
  except _NETWORK_ERRORS as e:
    raise _Interrupted(f'{type(e).__name__}: {e}') from None


def _body(response: http.client.HTTPResponse, have: int,
          expected: Optional[int], label: str) -> _Body:
  """Checks the answer's headers; where its bytes go in the partial file."""
  if response.headers.get_content_type() == 'text/html':
    raise DownloadError('the server answered with an HTML page, not the file '
                        '(a login, error or proxy page?)')
  length = response.headers.get('Content-Length')
  length = int(length) if length and length.isdigit() else None
  if have and getattr(response, 'status', None) == 206:
    start, total = _content_range_start(response.headers.get('Content-Range'))
    if start != have:
      raise _Interrupted(f'the server resumed at byte {start}, not {have}')
    if total is None and length is not None:
      total = have + length
    body = _Body(have, total, 'ab')
  else:
    if have:
      logging.info('%s: the server did not resume; starting again.', label)
    body = _Body(0, length, 'wb')
  if expected is not None and body.total is not None and (
      body.total != expected):
    raise DownloadError(f'the server offers {body.total} bytes, the pinned '
                        f'size is {expected}')
  return body if expected is None else dataclasses.replace(body,
                                                           total=expected)


def _copy(response: http.client.HTTPResponse, f: BinaryIO, body: _Body,
          report: progress.Progress) -> int:
  """Copies the answer into `f`; returns the bytes the file then holds."""
  done = body.have
  while True:
    try:
      chunk = response.read(_CHUNK)
    except _NETWORK_ERRORS as e:
      raise _Interrupted(f'{type(e).__name__}: {e}') from None
    if not chunk:
      return done
    if body.total is not None and done + len(chunk) > body.total:
      raise DownloadError(f'the server sent more than the {body.total} bytes '
                          'expected')
    f.write(chunk)
    done += len(chunk)
    report.update(len(chunk))


def _download_once(url: str, partial: str, expected: Optional[int],
                   label: str) -> None:
  """One connection: appends to `partial` until the file is complete.

  Raises:
    _Interrupted: if the connection ended early (the partial file is kept).
    DownloadError: for an answer that cannot be the file (not retried).
    release_urls.ReleaseError: if the partial file cannot be written.
  """
  have = _size_or_zero(partial)
  if expected is not None and have > expected:
    atomic_files.remove_quietly(partial)
    have = 0
  if expected is not None and have == expected:
    return  # A previous run got every byte; verification follows.
  with _open(url, partial, have) as response:
    try:
      body = _body(response, have, expected, label)
    except (DownloadError, _Interrupted):  # Not the rest of this file.
      atomic_files.remove_quietly(partial)
      raise
    logging.info('Downloading %s (%s%s) into %s', url,
                 progress.binary_size(body.total)
                 if body.total is not None else 'size unknown',
                 f', resuming at {progress.binary_size(body.have)}'
                 if body.have else '', partial)
    with progress.Progress(label, body.total, unit=progress.BYTES,
                           bar=_on_terminal(), initial=body.have,
                           log_lines=_LOG_LINES, bar_delay_s=0.0) as report:
      try:
        with open(partial, body.mode) as f:
          done = _copy(response, f, body, report)
      except DownloadError:
        atomic_files.remove_quietly(partial)
        raise
      except OSError as e:  # Not the network's: _copy catches those.
        raise release_urls.ReleaseError(
            f'Cannot write {partial}: {e.strerror} ([Errno {e.errno}]); free '
            'some space or set I3D_CACHE_DIR to another folder.') from None
  if body.total is not None and done < body.total:
    raise _Interrupted(f'the connection closed after {done} of {body.total} '
                       'bytes')


def download(url: str, partial: str, expected: Optional[int], label: str,
             attempts: int) -> None:
  """Downloads `url` into `partial`, resuming over up to `attempts` tries.

  Args:
    url: what to download.
    partial: the partial file, resumed if it exists.
    expected: the file's size in bytes, if known: a partial file that long is
      complete, and a server offering another size is refused.
    label: names the file in log lines and on the bar.
    attempts: connections before an interrupted download is given up.

  Raises:
    DownloadError: if the server's answer cannot be the file, or the last
      connection ended early (the partial file is then kept for a later
      call); the message says why, not where.
    release_urls.ReleaseError: if the partial file cannot be written.
  """
  for attempt in range(1, attempts + 1):
    try:
      _download_once(url, partial, expected, label)
      return
    except _Interrupted as e:
      have = _size_or_zero(partial)
      if attempt == attempts:
        raise DownloadError(
            f'download interrupted ({e}); {have} bytes are kept in '
            f'{partial} and the next run resumes from there') from None
      logging.warning('%s: interrupted (%s) at %s; resuming (try %d of %d).',
                      label, e, progress.binary_size(have), attempt + 1,
                      attempts)
      time.sleep(min(2.0 ** (attempt - 1), 10.0))
