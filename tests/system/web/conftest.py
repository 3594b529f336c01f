"""conftest.py (web/): fixtures for the management-plane system tests; helpers are in api.py.

`web()` starts the gate's serve with HTTPS on a free loopback port (no account yet);
`web_admin()` also creates the first administrator through POST /api/v1/setup and logs in.
"""

import pytest

import api


@pytest.fixture
def web(gate):
    """web(ports=(), https=None, **sections) -> api.WebGate (serve running, TLS answering)."""
    def start(ports=(), **kw):
        return api.start(gate, ports, **kw)
    return start


@pytest.fixture
def web_admin(gate):
    """web_admin(ports=(), **kw) -> (api.WebGate, admin api.Session)."""
    def start(ports=(), **kw):
        return api.start_with_admin(gate, ports, **kw)
    return start
