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
"""For tests: a mirror of DeepMind's I3D release served on the loopback.

The tests of the release's downloads (Carreira & Zisserman, "Quo Vadis,
Action Recognition?", CVPR 2017) need no internet: `LoopbackMirror(root)`
serves the tree under `root` at `<url>/<path>` over HTTP on 127.0.0.1, with
Range requests, and faults a test injects per path (`reset(faults=...)`):

* '404': Not Found;
* 'html': a login page, as text/html;
* 'html_as_binary': the same page, as application/octet-stream;
* 'ignore_range': the whole file, whatever the Range header asks;
* 'drop': half the body, then the connection closes (`drops` times).

It records every request as (path, Range header), and stops itself after
`LIFETIME_S` whatever happens.
"""

import http.server
import os
import socket
import threading
from typing import List, Mapping, Optional, Tuple

# The server shuts itself down after this long, whatever happens.
LIFETIME_S = 600.0


def closed_port_url() -> str:
  """A loopback URL nobody listens on."""
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
  return f'http://127.0.0.1:{port}/mirror'


class _Handler(http.server.BaseHTTPRequestHandler):
  """Serves `server.root` under `/mirror/`, with Range and injected faults."""

  timeout = 30  # Seconds per socket operation: a stuck client cannot hang it.

  def log_message(self, *args):  # Quiet.
    del args

  def do_GET(self):  # pylint: disable=invalid-name
    server = self.server
    server.requests.append((self.path, self.headers.get('Range')))
    if not self.path.startswith('/mirror/'):
      self.send_error(404)
      return
    relative = self.path[len('/mirror/'):]
    fault = server.faults.get(relative)
    if fault == '404':
      self.send_error(404, 'Not Found')
      return
    if fault in ('html', 'html_as_binary'):
      page = b'<!DOCTYPE html><html><body>Sign in to continue</body></html>'
      self.send_response(200)
      self.send_header('Content-Type', 'text/html; charset=utf-8'
                       if fault == 'html' else 'application/octet-stream')
      self.send_header('Content-Length', str(len(page)))
      self.end_headers()
      self.wfile.write(page)
      return
    path = os.path.join(server.root, *relative.split('/'))
    if not os.path.isfile(path):
      self.send_error(404, 'Not Found')
      return
    with open(path, 'rb') as f:
      data = f.read()
    start = 0
    byte_range = self.headers.get('Range')
    if byte_range and fault != 'ignore_range':
      start = int(byte_range.split('=')[1].split('-')[0])
      if start >= len(data):
        self.send_error(416)
        return
      self.send_response(206)
      self.send_header('Content-Range',
                       f'bytes {start}-{len(data) - 1}/{len(data)}')
    else:
      self.send_response(200)
    body = data[start:]
    self.send_header('Content-Type', 'application/octet-stream')
    self.send_header('Content-Length', str(len(body)))
    self.end_headers()
    if fault == 'drop' and server.drops_left > 0:
      server.drops_left -= 1
      self.wfile.write(body[:len(body) // 2])
      self.wfile.flush()
      self.close_connection = True
      self.connection.shutdown(socket.SHUT_RDWR)
      return
    self.wfile.write(body)


class LoopbackMirror:
  """An HTTP server on 127.0.0.1, random port, in a thread that stops itself."""

  def __init__(self, root: str):
    """Starts serving `root` at `self.url`."""
    self._server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    self._server.daemon_threads = True
    self._server.root = root
    self._server.requests = []
    self._server.faults = {}
    self._server.drops_left = 0
    self.url = f'http://127.0.0.1:{self._server.server_address[1]}/mirror'
    self._thread = threading.Thread(target=self._server.serve_forever,
                                    kwargs={'poll_interval': 0.1}, daemon=True)
    self._timer = threading.Timer(LIFETIME_S, self._server.shutdown)
    self._timer.daemon = True
    self._thread.start()
    self._timer.start()

  @property
  def requests(self) -> List[Tuple[str, Optional[str]]]:
    """(path, Range header) of every request since the last `reset`."""
    return self._server.requests

  def reset(self, faults: Optional[Mapping[str, str]] = None,
            drops: int = 0) -> None:
    """Forgets the requests; injects `faults` ({path: fault}), `drops` drops."""
    self._server.requests.clear()
    self._server.faults = dict(faults or {})
    self._server.drops_left = drops

  def stop(self) -> None:
    self._timer.cancel()
    self._server.shutdown()
    self._server.server_close()
    self._thread.join(timeout=10)
