""" "Try it now": download a small real model and build (or find) llama-server, into the user cache
dir, with the user's yes. No Textual."""

from .plan import (
    DEMO_CACHE_ENV,
    SETTINGS,
    SYSTEM_PROMPT,
    TEMPLATE,
    DemoPlan,
    DemoReady,
    DemoSetup,
    demo_root,
    server_args,
)
from .steps import SetupError
from .terms import Terms

__all__ = [
    "DEMO_CACHE_ENV",
    "SETTINGS",
    "SYSTEM_PROMPT",
    "TEMPLATE",
    "DemoPlan",
    "DemoReady",
    "DemoSetup",
    "SetupError",
    "Terms",
    "demo_root",
    "server_args",
]
