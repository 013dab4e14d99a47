"""Slot files (llama-server's --slot-save-path): save, restore and erase a slot's KV cache, and
whether the server can. A part of LlamaCppClient, kept apart from the rest of the API."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from .errors import BadRequest, NotFound, NotSupported
from .slot_files import SlotErased, SlotFileRefused, SlotRestored, SlotSaved, check_filename, check_slot_id


class SlotFileActions:
    """Mixed into LlamaCppClient, whose `_json` (retries, errors) every action goes through."""

    async def _json(self, method: str, path: str, json_body: Any = None, *, retries: int | None = None) -> Any:
        raise NotImplementedError  # LlamaCppClient's

    async def save_slot(self, id_slot: int, filename: str) -> SlotSaved:
        """Write slot `id_slot`'s KV cache to `filename` in the server's --slot-save-path directory
        (replacing a file of that name). Waits while the slot is busy. NotSupported without
        --slot-save-path; SlotFileRefused for a name the server does not allow."""
        return SlotSaved.from_json(await self._slot_action(id_slot, "save", {"filename": check_filename(filename)}))

    async def restore_slot(self, id_slot: int, filename: str) -> SlotRestored:
        """Load `filename` into slot `id_slot`. SlotFileRefused if the server cannot use the file
        (missing, other model shapes, context too small); the slot is then empty. The server does
        NOT notice a file from another model of the same shapes: check before calling."""
        data = await self._slot_action(id_slot, "restore", {"filename": check_filename(filename)})
        return SlotRestored.from_json(data)

    async def erase_slot(self, id_slot: int) -> SlotErased:
        """Drop slot `id_slot`'s KV cache (files are untouched). NotSupported without --slot-save-path."""
        return SlotErased.from_json(await self._slot_action(id_slot, "erase", {}))

    async def slot_files_enabled(self) -> bool:
        """Whether the server runs with --slot-save-path, asked without side effects: a save with
        an empty file name is refused before any work (400 "Invalid filename") when saving is on,
        and answered 501 when it is off. /props does not say."""
        try:
            await self._json("POST", "/slots/0?action=save", {"filename": ""}, retries=0)
        except (NotSupported, NotFound):  # 404: a build without slot actions
            return False
        except BadRequest:
            return True
        return True  # a server that took an empty name saves too

    async def _slot_action(self, id_slot: int, action: str, body: dict[str, Any]) -> Any:
        path = f"/slots/{check_slot_id(id_slot)}?" + urlencode({"action": action})
        try:
            # Retried like any request (connection failures, 5xx): doing any of the three twice
            # leaves the same result, and a server that just restarted may drop the first attempt.
            return await self._json("POST", path, body)
        except (NotFound, NotSupported):
            raise
        except BadRequest as e:
            raise SlotFileRefused(e.message, status=e.status, error_type=e.error_type, body=e.body) from e
